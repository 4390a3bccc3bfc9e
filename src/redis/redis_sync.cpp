#include "redis/redis_sync.hpp"

#include <sys/time.h>
#include <unistd.h>

#include "redis/command_args.hpp"

namespace peercable::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// True when the reply is an error; `error` gets its text.
bool refused(const RedisReplyPtr& r, std::string& error) {
  if (r && r->type == REDIS_REPLY_ERROR) {
    error.assign(r->str, r->len);
    return true;
  }
  return false;
}

// Errors a server gives while it cannot serve yet: worth retrying, unlike a refused password.
bool transient(const std::string& error) {
  return error.rfind("LOADING", 0) == 0 || error.rfind("BUSY", 0) == 0 || error.rfind("MASTERDOWN", 0) == 0;
}

}  // namespace

RedisReplyPtr redis_command(redisContext* c, std::initializer_list<std::string_view> args) {
  CommandArgs a(args);
  return RedisReplyPtr(static_cast<redisReply*>(redisCommandArgv(c, a.count(), a.argv(), a.lens())));
}

bool redis_append(redisContext* c, std::initializer_list<std::string_view> args) {
  CommandArgs a(args);
  return redisAppendCommandArgv(c, a.count(), a.argv(), a.lens()) == REDIS_OK;
}

RedisReplyPtr redis_reply(redisContext* c) {
  void* reply = nullptr;
  if (redisGetReply(c, &reply) != REDIS_OK) return nullptr;
  return RedisReplyPtr(static_cast<redisReply*>(reply));
}

std::string redis_client_name() {
  return "peercable-PID-" + std::to_string(::getpid());
}

RedisSyncConnect redis_connect_sync(const RedisEndpoint& ep, std::chrono::milliseconds timeout,
                                    std::string_view client_name) {
  RedisSyncConnect out;
  RedisContextPtr c(redisConnectWithTimeout(ep.host.c_str(), ep.port, to_timeval(timeout)));
  if (!c) {
    out.error = "out of memory";
    return out;
  }
  if (c->err) {
    out.error = c->errstr;
    return out;
  }
  redisSetTimeout(c.get(), to_timeval(timeout));
  redisEnableKeepAlive(c.get());
  auto io_error = [&] {
    out.error = c->err ? c->errstr : "no reply";
    return std::move(out);
  };
  if (!ep.password.empty()) {
    auto r = ep.user.empty() ? redis_command(c.get(), {"AUTH", ep.password})
                             : redis_command(c.get(), {"AUTH", ep.user, ep.password});
    if (!r) return io_error();
    if (refused(r, out.error)) {
      out.rejected = !transient(out.error);
      return out;
    }
  }
  // SELECT runs even for db 0: without a password it is where a server that needs one says NOAUTH.
  auto db = std::to_string(ep.db);
  auto r = redis_command(c.get(), {"SELECT", db});
  if (!r) return io_error();
  if (refused(r, out.error)) {
    out.rejected = !transient(out.error);
    return out;
  }
  r = redis_command(c.get(), {"CLIENT", "SETNAME", client_name});
  if (!r) return io_error();
  out.context = std::move(c);
  return out;
}

}  // namespace peercable::redis
