#include "net/loop.hpp"

namespace peercable::net {

Loop::Loop(int index) : index_(index), read_buffer_(64 * 1024) {}

void Loop::schedule_flush(std::shared_ptr<Flushable> f) {
  dirty_.push_back(std::move(f));
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(io_, [this] { run_flushes(); });
  }
}

void Loop::run_flushes() {
  flush_posted_ = false;
  // Flushing can enqueue more (a close after a write); swap so new entries start a new batch.
  std::vector<std::shared_ptr<Flushable>> batch;
  batch.swap(dirty_);
  for (auto& f : batch) f->flush();
  batch.clear();
  if (dirty_.empty()) dirty_.swap(batch);  // keep the capacity: no allocation per turn
}

void Loop::every(std::chrono::milliseconds period, std::function<void()> tick) {
  auto timer = std::make_unique<asio::steady_timer>(io_);
  auto* t = timer.get();
  timers_.push_back(std::move(timer));
  auto arm = std::make_shared<std::function<void()>>();
  *arm = [t, period, tick = std::move(tick), arm_weak = std::weak_ptr<std::function<void()>>(arm)]() {
    t->expires_after(period);
    t->async_wait([t, tick, arm_weak](const boost::system::error_code& ec) {
      if (ec) return;
      tick();
      if (auto a = arm_weak.lock()) (*a)();
    });
  };
  // The timer owns its re-arm closure through this shared_ptr kept alive by the timers_ list's lifetime.
  ticks_keepalive_.push_back(arm);
  (*arm)();
}

void Loop::start() {
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

void Loop::stop() { io_.stop(); }

void Loop::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace peercable::net
