#include "store/store_worker.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

namespace peercable::store {

using namespace std::chrono_literals;

StoreWorker::StoreWorker(std::size_t capacity) : capacity_(capacity) {}

StoreWorker::~StoreWorker() {
  stop();
}

bool StoreWorker::try_post(Job job, const char* what) {
  {
    std::lock_guard lock(mutex_);
    if (jobs_.size() >= capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      ++unlogged_;
      auto now = std::chrono::steady_clock::now();
      // A stalled store would otherwise log once per message.
      if (now - last_log_ >= 10s) {
        spdlog::warn("store: queue full ({} jobs): dropped {} jobs since the last report, the latest a {}", capacity_,
                     unlogged_, what);
        last_log_ = now;
        unlogged_ = 0;
      }
      return false;
    }
    jobs_.push_back(std::move(job));
    depth_.store(jobs_.size(), std::memory_order_relaxed);
  }
  wake_.notify_one();
  return true;
}

void StoreWorker::post(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    depth_.store(jobs_.size(), std::memory_order_relaxed);
  }
  wake_.notify_one();
}

void StoreWorker::every(std::chrono::milliseconds period, Job tick) {
  tickers_.push_back({period, std::chrono::steady_clock::now() + period, std::move(tick)});
}

void StoreWorker::start() {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "store");
}

void StoreWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StoreWorker::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    auto due = now + 1h;
    for (auto& t : tickers_) {
      if (!stopping_ && t.next <= now) {  // stopping: the queued jobs run, periodic work does not
        lock.unlock();
        t.tick();
        lock.lock();
        // From now, not from the missed deadline: a store that stalled does not get a burst of ticks.
        t.next = std::chrono::steady_clock::now() + t.period;
      }
      due = std::min(due, t.next);
    }
    if (jobs_.empty()) {
      if (stopping_) return;
      wake_.wait_until(lock, due, [this] { return stopping_ || !jobs_.empty(); });
      continue;
    }
    // Jobs are taken in batches so a busy queue still lets the tickers run between batches.
    std::deque<Job> batch;
    batch.swap(jobs_);
    depth_.store(0, std::memory_order_relaxed);
    lock.unlock();
    for (auto& job : batch) job();
    batch.clear();  // captured state is released off the lock too
    lock.lock();
  }
}

}  // namespace peercable::store
