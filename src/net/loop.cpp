#include "net/loop.hpp"

namespace peercable::net {

namespace {
thread_local Loop* tls_current = nullptr;
}  // namespace

Loop* Loop::current() noexcept {
  return tls_current;
}

Loop::Loop(int index) : index_(index), read_buffer_(64 * 1024) {}

Flushable::~Flushable() {
  if (flush_loop_) flush_loop_->cancel_flush(this);
}

void Loop::schedule_flush(Flushable* f) {
  f->flush_loop_ = this;
  f->flush_slot_ = dirty_.size();
  f->flush_running_ = false;
  dirty_.push_back(f);
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(io_, [this] { run_flushes(); });
  }
}

void Loop::cancel_flush(Flushable* f) noexcept {
  if (f->flush_loop_ != this) return;
  auto& list = f->flush_running_ ? running_ : dirty_;
  list[f->flush_slot_] = nullptr;
  f->flush_loop_ = nullptr;
}

void Loop::run_flushes() {
  flush_posted_ = false;
  // Flushing can enqueue more (a close after a write); swap so new entries start a new batch.
  running_.swap(dirty_);
  for (auto* f : running_)
    if (f) f->flush_running_ = true;
  // By index: a flush may cancel a later entry (it becomes nullptr); the vector itself does not change.
  for (std::size_t i = 0; i < running_.size(); ++i) {
    Flushable* f = running_[i];
    if (!f) continue;
    f->flush_loop_ = nullptr;
    f->flush();
  }
  running_.clear();  // keeps the capacity: no allocation per turn
}

// A periodic timer owned by its loop; it re-arms itself until the loop stops.
struct Loop::Ticker {
  Ticker(asio::io_context& io, std::chrono::milliseconds p, std::function<void()> f)
      : timer(io), period(p), tick(std::move(f)) {}
  void arm() {
    timer.expires_after(period);
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      tick();
      arm();
    });
  }
  asio::steady_timer timer;
  std::chrono::milliseconds period;
  std::function<void()> tick;
};

Loop::~Loop() {
  // Handlers still queued are destroyed with io_, after the lists below: whatever they own (a connection on
  // the flush list) must not reach back into them.
  for (auto* list : {&dirty_, &running_})
    for (auto* f : *list)
      if (f) f->flush_loop_ = nullptr;
  dirty_.clear();
  running_.clear();
}

void Loop::every(std::chrono::milliseconds period, std::function<void()> tick) {
  tickers_.push_back(std::make_unique<Ticker>(io_, period, std::move(tick)));
  tickers_.back()->arm();
}

void Loop::start() {
  thread_ = std::thread([this] {
    tls_current = this;
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

void Loop::stop() {
  io_.stop();
}

void Loop::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace peercable::net

namespace peercable::net {

void count_refusal(Limit l) {
  if (Loop* loop = Loop::current())
    loop->counters().refusals[static_cast<std::size_t>(l)].fetch_add(1, std::memory_order_relaxed);
}

}  // namespace peercable::net
