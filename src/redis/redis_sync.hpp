#pragma once
// Blocking hiredis connections with short timeouts: the start-up check, the presence and history stores.
#include <hiredis/hiredis.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "redis/redis_url.hpp"

namespace peercable::redis {

struct RedisContextFree {
  void operator()(redisContext* c) const noexcept {
    if (c) redisFree(c);
  }
};
struct RedisReplyFree {
  void operator()(redisReply* r) const noexcept {
    if (r) freeReplyObject(r);
  }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextFree>;
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyFree>;

/// The outcome of a blocking connect: a ready context, or why not. `rejected` is true when the server
/// answered but refused us (wrong password, unknown user, NOAUTH, bad database): a configuration error,
/// unlike an unreachable server, which may come back.
struct RedisSyncConnect {
  RedisContextPtr context;
  bool rejected = false;
  std::string error;
};

/// Connects to `ep`, authenticates, selects the database and sets the client name, with `timeout` for the
/// connect and for every command (it stays the context's I/O timeout).
RedisSyncConnect redis_connect_sync(const RedisEndpoint& ep, std::chrono::milliseconds timeout,
                                    std::string_view client_name);

/// Runs one command (binary-safe arguments); null when the connection failed (see c->errstr).
RedisReplyPtr redis_command(redisContext* c, std::initializer_list<std::string_view> args);

/// Queues one command (binary-safe arguments) without waiting for its reply, so that several go in one
/// round trip; false when it could not be queued (out of memory).
bool redis_append(redisContext* c, std::initializer_list<std::string_view> args);

/// The reply to the oldest queued command; null when the connection failed (see c->errstr).
RedisReplyPtr redis_reply(redisContext* c);

/// "peercable-PID-<pid>", the name every connection of this process gives itself (CLIENT SETNAME).
std::string redis_client_name();

}  // namespace peercable::redis
