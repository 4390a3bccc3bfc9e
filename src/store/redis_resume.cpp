#include "store/redis_resume.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "cable/broadcast.hpp"
#include "redis/stream_keys.hpp"
#include "redis/sync_client.hpp"

namespace peercable::store {
namespace {

// Answers one stream of a history request from what the broker's sequencing script keeps (see
// redis/stream_keys.hpp), in one consistent read: {"ok", epoch, offset, payload, ...} or {reason}.
// KEYS: meta, log, raw mark. ARGV: "after" | "since", epoch, offset, since (unix s), ttl (s).
constexpr const char* kReadScript = R"lua(
local now = tonumber(redis.call('TIME')[1])
local oldest = now - tonumber(ARGV[5])
-- The stream's mark (see broker::mark_script): "<unix time> <last offset then>"; an older mark is a time alone.
local raw = redis.call('GET', KEYS[3])
local raw_time, raw_head
if raw then
  local t, h = string.match(raw, '^(%d+) (%d+)$')
  raw_time, raw_head = tonumber(t or raw) or 0, tonumber(h)
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local function entries(from)
  local out = {}
  for _, e in ipairs(redis.call('XRANGE', KEYS[2], from, '+')) do
    local t, d
    for i = 1, #e[2], 2 do
      if e[2][i] == 't' then t = tonumber(e[2][i + 1]) elseif e[2][i] == 'd' then d = e[2][i + 1] end
    end
    out[#out + 1] = {string.match(e[1], '^(%d+)'), t or 0, d or ''}
  end
  return out
end
if ARGV[1] == 'since' then
  local since = tonumber(ARGV[4])
  if raw and raw_time >= since then return {'unsequenced'} end
  if since < oldest then since = oldest end
  local out = {'ok', epoch or ''}
  for _, e in ipairs(entries('-')) do
    if e[2] >= since then out[#out + 1] = e[1]; out[#out + 1] = e[3] end
  end
  return out
end
if not epoch then return {'unknown_stream'} end
if epoch ~= ARGV[2] then return {'unknown_epoch'} end
local head = tonumber(redis.call('HGET', KEYS[1], 'offset') or '0')
local offset = tonumber(ARGV[3])
-- A client whose last offset is at or before the mark may have missed what went out unsequenced after it.
if raw and (not raw_head or offset <= raw_head) then return {'unsequenced'} end
if offset > head then return {'future'} end
if offset == head then return {'ok', epoch} end
local list = entries(string.format('%d-0', offset + 1))
if #list == 0 or tonumber(list[1][1]) ~= offset + 1 or list[1][2] < oldest then return {'evicted'} end
local out = {'ok', epoch}
for _, e in ipairs(list) do out[#out + 1] = e[1]; out[#out + 1] = e[3] end
return out
)lua";

cable::HistoryResult result_of(std::string_view status) {
  using cable::HistoryResult;
  if (status == "ok") return HistoryResult::kOk;
  if (status == "unknown_stream") return HistoryResult::kUnknownStream;
  if (status == "unknown_epoch") return HistoryResult::kUnknownEpoch;
  if (status == "evicted") return HistoryResult::kEvicted;
  if (status == "future") return HistoryResult::kFutureOffset;
  if (status == "unsequenced") return HistoryResult::kUnsequenced;
  return HistoryResult::kUnavailable;
}

std::string_view text(const redisReply* r) {
  return r && r->type == REDIS_REPLY_STRING ? std::string_view(r->str, r->len) : std::string_view();
}

// The connection both share; touched only on the worker thread.
class Link {
 public:
  Link(const redis::RedisOptions& opts, StoreWorker& worker)
      : worker_(worker),
        client_(redis::SyncClient::from_url(
            opts.url, {"stream history and sessions", "history requests are refused until it is back"})),
        ns_(redis::stream_namespace(opts.channel_prefix)),
        session_ns_((opts.channel_prefix.empty() ? std::string() : opts.channel_prefix + ":") + "peercable:session:") {}

  StoreWorker& worker() { return worker_; }
  const std::string& ns() const { return ns_; }
  std::string session_key(const std::string& sid) const { return session_ns_ + sid; }

  /// The client, connected when Redis can be reached (a new attempt at most once per pause).
  redis::SyncClient& client() {
    if (!client_.up() && std::chrono::steady_clock::now() >= next_attempt_) {
      if (!client_.adopt(client_.attempt())) next_attempt_ = std::chrono::steady_clock::now() + client_.next_pause();
    }
    return client_;
  }

 private:
  StoreWorker& worker_;
  redis::SyncClient client_;
  std::string ns_;
  std::string session_ns_;
  std::chrono::steady_clock::time_point next_attempt_{};
};

class RedisStreamHistory final : public cable::RemoteStreamHistory {
 public:
  RedisStreamHistory(std::shared_ptr<Link> link, std::chrono::seconds ttl)
      : link_(std::move(link)), ttl_(std::to_string(ttl.count())) {}

  void read(std::vector<cable::StreamQuery> queries, Done done) override {
    auto job = [link = link_, ttl = ttl_, queries, done] { done(answer(*link, ttl, queries)); };
    if (!link_->worker().try_post(job, "stream history read")) done({cable::HistoryResult::kUnavailable, {}, {}});
  }

 private:
  static cable::HistoryAnswer answer(Link& link, const std::string& ttl,
                                     const std::vector<cable::StreamQuery>& queries) {
    cable::HistoryAnswer a;
    std::vector<std::vector<std::string>> commands;
    commands.reserve(queries.size());
    for (const auto& q : queries) {
      auto keys = redis::stream_keys(link.ns(), q.stream);
      commands.push_back({"EVAL", kReadScript, "3", keys.meta, keys.log, keys.raw, q.after ? "after" : "since", q.epoch,
                          std::to_string(q.offset), std::to_string(q.since), ttl});
    }
    auto replies = link.client().pipeline(commands);
    if (replies.size() != queries.size()) {
      a.result = cable::HistoryResult::kUnavailable;
      if (!queries.empty()) a.failed = queries.front().stream;
      return a;
    }
    a.missed.resize(queries.size());
    for (std::size_t i = 0; i < queries.size(); ++i) {
      const redisReply* r = replies[i].get();
      if (r->type == REDIS_REPLY_ERROR) link.client().refused(std::string(r->str, r->len));
      auto status = r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? text(r->element[0]) : std::string_view();
      a.result = result_of(status);
      if (a.result != cable::HistoryResult::kOk) {
        a.failed = queries[i].stream;
        a.missed.clear();
        return a;
      }
      if (r->elements < 2) continue;
      auto epoch = std::make_shared<const std::string>(text(r->element[1]));
      for (std::size_t e = 2; e + 1 < r->elements; e += 2) {
        auto digits = text(r->element[e]);
        std::uint64_t offset = 0;
        std::from_chars(digits.data(), digits.data() + digits.size(), offset);
        auto b = std::make_shared<cable::Broadcast>(queries[i].stream, std::string(text(r->element[e + 1])));
        b->set_position(offset, epoch);
        a.missed[i].push_back(std::move(b));
      }
    }
    return a;
  }

  std::shared_ptr<Link> link_;
  std::string ttl_;
};

class RedisSessions final : public cable::RemoteSessions {
 public:
  explicit RedisSessions(std::shared_ptr<Link> link) : link_(std::move(link)) {}

  void save(const std::string& sid, const cable::SavedSession& s, std::chrono::seconds ttl) override {
    auto job = [link = link_, key = link_->session_key(sid), value = cable::encode_session(s),
                ms = std::to_string(std::chrono::milliseconds(ttl).count())] {
      link->client().command({"SET", key, value, "PX", ms});
    };
    link_->worker().try_post(job, "session save");
  }

  void claim(const std::string& sid, const std::string& digest, Claimed done) override {
    auto job = [link = link_, key = link_->session_key(sid), digest, done] {
      auto& c = link->client();
      auto r = c.command({"GET", key});
      std::optional<cable::SavedSession> s;
      if (r && r->type == REDIS_REPLY_STRING) s = cable::decode_session(text(r.get()));
      bool taken = false;
      if (s && s->credentials == digest) {
        // Only one lookup deletes it: a session is restored once, on whichever node asks first.
        auto del = c.command({"DEL", key});
        taken = del && del->type == REDIS_REPLY_INTEGER && del->integer == 1;
      }
      done(std::move(s), taken);
    };
    if (!link_->worker().try_post(job, "session lookup")) done(std::nullopt, false);
  }

  void remove(const std::string& sid) override {
    link_->worker().try_post(
        [link = link_, key = link_->session_key(sid)] {
          link->client().command({"DEL", key});
        },
        "session removal");
  }

 private:
  std::shared_ptr<Link> link_;
};

}  // namespace

RedisResume make_redis_resume(const redis::RedisOptions& opts, StoreWorker& worker, bool with_history,
                              std::chrono::seconds history_ttl) {
  auto link = std::make_shared<Link>(opts, worker);
  RedisResume out;
  if (with_history) out.history = std::make_unique<RedisStreamHistory>(link, history_ttl);
  out.sessions = std::make_unique<RedisSessions>(link);
  return out;
}

}  // namespace peercable::store
