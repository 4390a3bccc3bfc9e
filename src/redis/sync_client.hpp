#pragma once
// A blocking Redis connection that comes back on its own: what the presence and history stores and the
// extended protocol's stream history and sessions share. Calls fail fast while Redis is away, reconnect
// attempts are paced by a doubling, capped pause, and each outage is logged once.
#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_sync.hpp"
#include "redis/redis_url.hpp"

namespace peercable::redis {

class SyncClient {
 public:
  struct Options {
    std::string what;                        // names the client in the log and in errors: "history", "presence"
    std::string fallback;                    // what the node does while Redis is away, for the outage line
    std::chrono::milliseconds timeout{300};  // connect and each command: nothing waits longer on Redis
    std::chrono::milliseconds first_retry{100};
    std::chrono::milliseconds max_retry{2000};
  };

  /// Makes the first connection (waiting at most the timeout). Throws std::runtime_error when the server
  /// refuses the credentials or the database (a configuration error); an unreachable server is not an
  /// error: the client starts down and comes up at a later reconnect().
  SyncClient(RedisEndpoint ep, Options options);
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  /// Parses `url` and connects as above; throws std::runtime_error on a bad URL too.
  static SyncClient from_url(const std::string& url, Options options);

  bool up() const noexcept { return static_cast<bool>(ctx_); }
  /// The connection while up (for pipelines built by hand), else null.
  redisContext* context() const noexcept { return ctx_.get(); }
  /// The server, redacted, for logs.
  const std::string& url() const noexcept { return url_; }

  /// Runs one command; null when down or when the connection fails now (then it is dropped and the outage
  /// logged). An error reply is returned as it is.
  RedisReplyPtr command(std::initializer_list<std::string_view> args);
  /// The same with arguments built at run time.
  RedisReplyPtr command(const std::vector<std::string>& args);
  /// Sends `commands` in one round trip and returns their replies in order; empty when down or when the
  /// connection failed (dropped, outage logged). Every reply is read, so the connection stays in step.
  std::vector<RedisReplyPtr> pipeline(const std::vector<std::vector<std::string>>& commands);
  /// Queues one command of a hand-built pipeline; false (connection dropped) when it could not be queued.
  bool append(std::initializer_list<std::string_view> args);
  /// The reply to the oldest queued command; null (connection dropped) when the connection failed.
  RedisReplyPtr reply();

  /// Drops the connection: Redis went away. Logs the outage once (`why` defaults to the connection's error).
  void lost(std::string_view why = {});
  /// True when Redis closed the idle connection (it stopped or restarted). Only with no reply pending.
  bool closed() const;
  /// An error reply is a configuration problem (missing rights, a key of another type), not an outage:
  /// logged once per distinct error.
  void refused(const std::string& error);

  /// One connection attempt, waiting at most the timeout; touches no state, so the owner may call it without
  /// its lock (loops keep working meanwhile). A refused attempt is reported through refused() by adopt().
  RedisSyncConnect attempt() const;
  /// Takes a successful attempt as the connection (logs that Redis is back when it was away) and resets the
  /// pause; for a failed one, notes a refusal. True when the client is up.
  bool adopt(RedisSyncConnect attempt, bool log_back = true);
  /// How long to wait before the next attempt: doubling from first_retry, capped at max_retry.
  std::chrono::milliseconds next_pause();

 private:
  RedisEndpoint ep_;
  Options options_;
  std::string url_;
  RedisContextPtr ctx_;  // null while Redis is away
  bool outage_logged_ = false;
  std::string last_refusal_;
  std::chrono::milliseconds pause_;
};

}  // namespace peercable::redis
