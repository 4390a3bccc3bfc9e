#pragma once
// One event loop: a thread running its own io_context, owning its connections (shared nothing).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "net/limit.hpp"

namespace peercable::net {

namespace asio = boost::asio;

class Loop;

/// Something that wants its queued output written at the end of the current loop turn. While it is on its
/// loop's flush list the list knows where, and its destruction takes it off: the list never holds a dangling
/// pointer, whatever the order in which connections end.
class Flushable {
 public:
  virtual ~Flushable();
  virtual void flush() = 0;
  /// True while on a flush list.
  bool flush_pending() const noexcept { return flush_loop_ != nullptr; }

 protected:
  Flushable() = default;
  Flushable(const Flushable&) = delete;
  Flushable& operator=(const Flushable&) = delete;

 private:
  friend class Loop;
  Loop* flush_loop_ = nullptr;  // the loop whose list holds us, or nullptr
  std::size_t flush_slot_ = 0;  // our index in that list
  bool flush_running_ = false;  // the list is the batch being flushed now (else the next one)
};

/// Counters a loop keeps; read from any thread.
struct LoopCounters {
  std::atomic<std::int64_t> connections{0};
  std::atomic<std::int64_t> websockets{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> slow_consumer_closes{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  std::atomic<std::uint64_t> ping_timeouts{0};
  std::atomic<std::uint64_t> frames_out{0};
  std::atomic<std::uint64_t> bytes_out{0};  // handed to sockets (after TLS)
  std::atomic<std::uint64_t> unauthorized{0};
  std::atomic<std::uint64_t> refusals[static_cast<std::size_t>(Limit::kCount)]{};
};

class Loop {
 public:
  explicit Loop(int index);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  int index() const noexcept { return index_; }
  asio::io_context& io() noexcept { return io_; }
  LoopCounters& counters() noexcept { return counters_; }

  /// The loop whose thread is calling, or nullptr on any other thread.
  static Loop* current() noexcept;

  /// Runs `f` on this loop's thread.
  template <class F>
  void post(F&& f) {
    asio::post(io_, std::forward<F>(f));
  }

  /// Queues `f` to be flushed once the handlers now queued have run (corking: many sends, one write).
  /// `f` must not be on a list already. No reference count per delivery: `f` leaves the list when it is
  /// destroyed or calls cancel_flush.
  void schedule_flush(Flushable* f);
  /// Takes `f` off the flush list, if it is on it. O(1).
  void cancel_flush(Flushable* f) noexcept;

  /// The loop's shared read buffer: connections read into it and keep only leftovers of their own.
  std::vector<std::uint8_t>& read_buffer() noexcept { return read_buffer_; }

  /// Calls `tick` every `period` on this loop's thread until stop().
  void every(std::chrono::milliseconds period, std::function<void()> tick);

  void start();  // starts the thread
  void stop();   // stops the io_context (pending handlers are dropped)
  void join();

 private:
  void run_flushes();

  int index_;
  asio::io_context io_{1};
  std::vector<Flushable*> dirty_;    // the next pass; a cancelled entry is nullptr
  std::vector<Flushable*> running_;  // the pass under way
  bool flush_posted_ = false;
  std::vector<std::uint8_t> read_buffer_;
  struct Ticker;
  std::vector<std::unique_ptr<Ticker>> tickers_;
  LoopCounters counters_;
  std::thread thread_;
};

}  // namespace peercable::net
