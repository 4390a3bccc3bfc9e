#include "redis/sync_client.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "redis/command_args.hpp"

namespace peercable::redis {

SyncClient::SyncClient(RedisEndpoint ep, Options options)
    : ep_(std::move(ep)), options_(std::move(options)), url_(redacted_url(ep_)), pause_(options_.first_retry) {
  auto first = attempt();
  if (first.rejected)
    throw std::runtime_error("redis " + url_ + " refused the " + options_.what + " store: " + first.error);
  if (first.context) {
    ctx_ = std::move(first.context);
  } else {
    lost(first.error);
  }
}

SyncClient SyncClient::from_url(const std::string& url, Options options) {
  auto parsed = parse_redis_url(url);
  if (!parsed.endpoint) throw std::runtime_error("--redis-url: " + parsed.error);
  return SyncClient(*parsed.endpoint, std::move(options));
}

RedisReplyPtr SyncClient::command(std::initializer_list<std::string_view> args) {
  if (!ctx_) return nullptr;
  auto r = redis_command(ctx_.get(), args);
  if (!r) lost();
  return r;
}

RedisReplyPtr SyncClient::command(const std::vector<std::string>& args) {
  if (!ctx_) return nullptr;
  CommandArgs a(args);
  RedisReplyPtr r(static_cast<redisReply*>(redisCommandArgv(ctx_.get(), a.count(), a.argv(), a.lens())));
  if (!r) lost();
  return r;
}

std::vector<RedisReplyPtr> SyncClient::pipeline(const std::vector<std::vector<std::string>>& commands) {
  std::vector<RedisReplyPtr> out;
  if (!ctx_) return out;
  CommandArgs a;
  for (const auto& args : commands) {
    a.assign(args);
    if (redisAppendCommandArgv(ctx_.get(), a.count(), a.argv(), a.lens()) != REDIS_OK) {
      lost("out of memory");
      return out;
    }
  }
  out.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto r = redis_reply(ctx_.get());
    if (!r) {
      lost();
      out.clear();
      return out;
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool SyncClient::append(std::initializer_list<std::string_view> args) {
  if (!ctx_) return false;
  if (redis_append(ctx_.get(), args)) return true;
  lost("out of memory");
  return false;
}

RedisReplyPtr SyncClient::reply() {
  if (!ctx_) return nullptr;
  auto r = redis_reply(ctx_.get());
  if (!r) lost();
  return r;
}

void SyncClient::lost(std::string_view why) {
  std::string reason(why);
  if (reason.empty()) reason = ctx_ && ctx_->errstr[0] ? ctx_->errstr : "no reply";
  ctx_.reset();
  if (outage_logged_) return;
  outage_logged_ = true;
  // The broker logs the outage as a warning; this is the same event seen from one store.
  spdlog::info("redis {} {}: unavailable ({}); {}", options_.what, url_, reason, options_.fallback);
}

bool SyncClient::closed() const {
  if (!ctx_) return true;
  // No reply is pending: anything readable is the end of the stream or an error.
  pollfd p{ctx_->fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

void SyncClient::refused(const std::string& error) {
  if (error == last_refusal_) return;
  last_refusal_ = error;
  spdlog::warn("redis {} {}: {}", options_.what, url_, error);
}

RedisSyncConnect SyncClient::attempt() const {
  return redis_connect_sync(ep_, options_.timeout, redis_client_name());
}

bool SyncClient::adopt(RedisSyncConnect a, bool log_back) {
  if (!a.context) {
    if (a.rejected) refused(a.error);
    return false;
  }
  ctx_ = std::move(a.context);
  pause_ = options_.first_retry;
  if (outage_logged_ && log_back) spdlog::info("redis {} {}: back", options_.what, url_);
  outage_logged_ = false;
  return true;
}

std::chrono::milliseconds SyncClient::next_pause() {
  auto p = pause_;
  pause_ = std::min(pause_ * 2, options_.max_retry);
  return p;
}

}  // namespace peercable::redis
