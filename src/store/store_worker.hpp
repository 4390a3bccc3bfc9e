#pragma once
// The one thread that talks to the history and presence stores, so no loop ever waits on disk or Redis.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace peercable::store {

/// Runs store jobs in order on its own thread. Loops hand it work and get answers back through
/// net::Loop::post. Droppable jobs (history appends and reads, member pages) are refused once `capacity`
/// jobs wait: the store cannot keep up, so the job is dropped, counted and logged (at most every 10 s).
/// Presence changes are always queued: their number is bounded by the live subscriptions.
class StoreWorker {
 public:
  using Job = std::function<void()>;
  explicit StoreWorker(std::size_t capacity);
  ~StoreWorker();
  StoreWorker(const StoreWorker&) = delete;
  StoreWorker& operator=(const StoreWorker&) = delete;

  /// Queues a droppable job; false (and counted as a drop) when the queue is full. `what` names it in the log.
  bool try_post(Job job, const char* what);
  /// Queues a job that must run (a presence change).
  void post(Job job);
  /// Runs `tick` every `period` on the worker thread; before start().
  void every(std::chrono::milliseconds period, Job tick);
  void start();
  /// Runs the jobs already queued, then stops the thread. Idempotent.
  void stop();

  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  std::size_t depth() const noexcept { return depth_.load(std::memory_order_relaxed); }

 private:
  struct Ticker {
    std::chrono::milliseconds period;
    std::chrono::steady_clock::time_point next;
    Job tick;
  };
  void run();

  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  std::vector<Ticker> tickers_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point last_log_{};
  std::uint64_t unlogged_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::size_t> depth_{0};
  std::thread thread_;
};

}  // namespace peercable::store
