#pragma once
// One hiredis asynchronous connection driven by an Asio io_context, reconnecting on its own.
#include <hiredis/async.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "redis/redis_url.hpp"

namespace peercable::redis {

namespace asio = boost::asio;

/// A connection that signs in (AUTH, SELECT, CLIENT SETNAME) and, after any failure, reconnects with
/// capped exponential backoff. Every member, and every handler, runs on the io_context's one thread.
class RedisConnection {
 public:
  enum class State { kDown, kConnecting, kReady, kStopped };
  struct Handlers {
    std::function<void()> ready;                       // signed in: commands may be sent
    std::function<void(const std::string& why)> lost;  // a connection or an attempt failed (retry scheduled)
  };

  static constexpr std::chrono::milliseconds kFirstRetry{100};
  static constexpr std::chrono::milliseconds kMaxRetry{5000};
  static constexpr std::chrono::milliseconds kConnectTimeout{2000};

  RedisConnection(asio::io_context& io, RedisEndpoint ep, std::string client_name, Handlers handlers);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Starts the first attempt.
  void start();
  /// Closes the connection for good (no callbacks, no reconnect). Not from inside a hiredis callback.
  void stop();

  State state() const noexcept { return state_; }
  /// The hiredis context while ready, else null.
  redisAsyncContext* context() const noexcept { return state_ == State::kReady ? ac_ : nullptr; }
  /// Bytes of commands written but not yet sent to the server.
  std::size_t unsent_bytes() const noexcept;

 private:
  void connect();
  void fail(std::string why);
  void schedule_retry();
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_handshake_reply(redisAsyncContext* ac, void* reply, void* privdata);

  asio::io_context& io_;
  RedisEndpoint ep_;
  std::string client_name_;
  Handlers handlers_;
  State state_ = State::kDown;
  redisAsyncContext* ac_ = nullptr;
  int handshake_left_ = 0;
  std::string handshake_error_;
  std::uint64_t attempt_ = 0;
  std::chrono::milliseconds delay_ = kFirstRetry;
  asio::steady_timer connect_timer_;
  asio::steady_timer retry_timer_;
  std::minstd_rand jitter_;
};

}  // namespace peercable::redis
