#include "net/loop.hpp"

namespace peercable::net {

namespace {
thread_local Loop* tls_current = nullptr;
}  // namespace

Loop* Loop::current() noexcept {
  return tls_current;
}

Loop::Loop(int index) : index_(index), read_buffer_(64 * 1024) {}

void Loop::schedule_flush(Flushable* f) {
  dirty_.push_back(f);
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(io_, [this] { run_flushes(); });
  }
}

void Loop::run_flushes() {
  flush_posted_ = false;
  // Flushing can enqueue more (a close after a write); swap so new entries start a new batch.
  std::vector<Flushable*> batch;
  batch.swap(dirty_);
  for (auto& f : batch) f->flush();
  batch.clear();
  if (dirty_.empty()) dirty_.swap(batch);  // keep the capacity: no allocation per turn
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

Loop::~Loop() = default;

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
