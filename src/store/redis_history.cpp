#include "store/redis_history.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "redis/redis_sync.hpp"
#include "redis/redis_url.hpp"
#include "redis/sync_client.hpp"

namespace peercable::store {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kCheck{200};  // how often an idle connection is looked at

// One room's messages to add to its list, oldest first.
struct RoomWrite {
  std::string key;
  std::vector<std::string_view> messages;
};

enum class WriteOutcome { kStored, kRefused, kLost };

// Appends the messages of every room and trims each list to its newest `keep` (e.g. "-50"), in one MULTI/EXEC
// sent as a single pipeline: one round trip, and no reader ever sees a list longer than the limit. kRefused
// (with `error`) when Redis answered with an error; kLost when the connection failed and must be dropped.
WriteOutcome write_rooms(redisContext* c, const std::vector<RoomWrite>& rooms, std::string_view keep,
                         std::string_view ttl_ms, std::string& error) {
  std::size_t queued = 0;
  auto queue = [&](std::initializer_list<std::string_view> args) {
    if (!redis::redis_append(c, args)) return false;
    ++queued;
    return true;
  };
  if (!queue({"MULTI"})) return WriteOutcome::kLost;
  for (const auto& room : rooms) {
    for (auto m : room.messages)
      if (!queue({"RPUSH", room.key, m})) return WriteOutcome::kLost;
    if (!queue({"LTRIM", room.key, keep, "-1"})) return WriteOutcome::kLost;
    if (!queue({"PEXPIRE", room.key, ttl_ms})) return WriteOutcome::kLost;
  }
  if (!queue({"EXEC"})) return WriteOutcome::kLost;
  // Every reply is read, even after an error, so the connection stays in step.
  auto outcome = WriteOutcome::kStored;
  auto refuse = [&](const redisReply* r) {
    if (outcome == WriteOutcome::kRefused) return;
    outcome = WriteOutcome::kRefused;
    error.assign(r->str, r->len);
  };
  for (std::size_t i = 0; i < queued; ++i) {
    auto r = redis::redis_reply(c);
    if (!r) return WriteOutcome::kLost;
    if (r->type == REDIS_REPLY_ERROR) {
      refuse(r.get());
    } else if (i + 1 == queued && r->type == REDIS_REPLY_ARRAY) {
      for (std::size_t e = 0; e < r->elements; ++e)
        if (r->element[e]->type == REDIS_REPLY_ERROR) refuse(r->element[e]);
    } else if (i + 1 == queued && r->type == REDIS_REPLY_NIL) {
      error = "transaction not executed";
      outcome = WriteOutcome::kRefused;
    }
  }
  return outcome;
}

class RedisHistory final : public HistoryStore {
 public:
  RedisHistory(const redis::RedisOptions& opts, std::size_t per_room, std::chrono::milliseconds ttl)
      : client_(redis::SyncClient::from_url(opts.url, {"history", "keeping this node's history until it is back"})),
        ns_((opts.channel_prefix.empty() ? std::string() : opts.channel_prefix + ":") + "peercable:history:"),
        per_room_(per_room),
        keep_("-" + std::to_string(per_room)),
        ttl_ms_(std::to_string(ttl.count())) {
    thread_ = std::thread([this] { watch(); });
    pthread_setname_np(thread_.native_handle(), "redis-history");
  }

  ~RedisHistory() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  RedisHistory(const RedisHistory&) = delete;
  RedisHistory& operator=(const RedisHistory&) = delete;

  void append(const std::string& room, std::string message_json) override {
    if (per_room_ == 0) return;
    std::lock_guard lock(mutex_);
    if (client_.up()) {
      std::string error;
      switch (write_rooms(client_.context(), {{key(room), {message_json}}}, keep_, ttl_ms_, error)) {
        case WriteOutcome::kStored: return;
        case WriteOutcome::kRefused: client_.refused(error); break;
        case WriteOutcome::kLost: lost_locked(); break;
      }
    }
    keep_locked(room, std::move(message_json));
  }

  std::vector<std::string> latest(const std::string& room) override {
    std::vector<std::string> out;
    if (per_room_ == 0) return out;
    std::lock_guard lock(mutex_);
    if (client_.up()) {
      // From the end: a node configured with a smaller --history-size than another still gets its own count.
      // A join counts as activity: the list lives on while people come, even if nobody speaks.
      auto r = client_.command({"LRANGE", key(room), keep_, "-1"});
      if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 && !client_.command({"PEXPIRE", key(room), ttl_ms_}))
        r.reset();
      if (!r) {
        wake_.notify_all();
      } else if (r->type == REDIS_REPLY_ARRAY) {
        out.reserve(r->elements);
        for (std::size_t i = 0; i < r->elements; ++i)
          if (r->element[i]->type == REDIS_REPLY_STRING) out.emplace_back(r->element[i]->str, r->element[i]->len);
        return out;
      } else {
        client_.refused(r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "unexpected reply to LRANGE");
      }
    }
    auto kept = kept_.find(room);
    if (kept != kept_.end())
      for (const auto& k : kept->second) out.push_back(k.json);
    return out;
  }

  // Redis forgets on its own: every list expires ttl after its last append or join, and several nodes may
  // share a room, so no node deletes it. Only what this node kept during an outage goes.
  void forget(const std::vector<std::string>& rooms) override {
    std::lock_guard lock(mutex_);
    for (const auto& r : rooms) kept_.erase(r);
  }

 private:
  // A message appended while Redis was away; `seq` tells which ones a write-back has taken.
  struct Kept {
    std::uint64_t seq;
    std::string json;
  };

  std::string key(const std::string& room) const { return ns_ + room; }

  void keep_locked(const std::string& room, std::string message_json) {
    auto& q = kept_[room];
    q.push_back({++seq_, std::move(message_json)});
    while (q.size() > per_room_) q.pop_front();
  }

  // Drops the connection and wakes the watcher to reconnect; `why` defaults to the connection's error.
  void lost_locked(std::string_view why = {}) {
    client_.lost(why);
    wake_.notify_all();
  }

  // Writes what was kept during the outage to Redis on the fresh connection `c`, then makes `c` the store's
  // connection. The writes are made without the lock, so loops keep appending to memory meanwhile; the
  // connection is handed over only once memory is empty, under the lock, so nothing is left behind.
  // False when the connection failed; what was not written stays in memory.
  bool write_back(redis::RedisSyncConnect& c, std::size_t& written) {
    for (;;) {
      std::vector<RoomWrite> rooms;
      std::uint64_t upto = 0;
      std::map<std::string, std::deque<Kept>> batch;
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return false;
        if (kept_.empty()) return client_.adopt(std::move(c), false);
        batch = kept_;  // a copy: loops keep serving it until it is in Redis
        upto = seq_;
      }
      for (const auto& [room, q] : batch) {
        RoomWrite w{key(room), {}};
        for (const auto& k : q) w.messages.push_back(k.json);
        rooms.push_back(std::move(w));
      }
      std::string error;
      auto outcome = write_rooms(c.context.get(), rooms, keep_, ttl_ms_, error);
      std::lock_guard lock(mutex_);
      if (outcome == WriteOutcome::kLost) return false;
      // A refused batch would be refused again: it is dropped, with a warning.
      if (outcome == WriteOutcome::kRefused) client_.refused(error);
      for (auto it = kept_.begin(); it != kept_.end();) {
        auto& q = it->second;
        while (!q.empty() && q.front().seq <= upto) {
          q.pop_front();
          if (outcome == WriteOutcome::kStored) ++written;
        }
        it = q.empty() ? kept_.erase(it) : std::next(it);
      }
    }
  }

  // While connected, looks at the idle connection every kCheck; while Redis is away, reconnects with a
  // doubling pause and writes back.
  void watch() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (stopping_) return;
      if (client_.up()) {
        if (!client_.closed()) {
          wake_.wait_for(lock, kCheck, [this] { return stopping_ || !client_.up(); });
          continue;
        }
        client_.lost("connection closed");
      }
      lock.unlock();  // connecting may take the whole timeout: loops keep working meanwhile
      auto attempt = client_.attempt();
      std::size_t written = 0;
      bool back = attempt.context && write_back(attempt, written);
      lock.lock();
      if (back) {
        spdlog::info("redis history {}: back; {} messages kept during the outage written", client_.url(), written);
        continue;
      }
      if (!attempt.context) client_.adopt(std::move(attempt));  // notes a refusal
      auto pause = client_.next_pause();
      wake_.wait_for(lock, pause, [this] { return stopping_; });
    }
  }

  std::mutex mutex_;  // guards everything below; Redis calls are made under it (short timeouts)
  redis::SyncClient client_;
  std::string ns_;
  std::size_t per_room_;
  std::string keep_;     // "-<per_room>": LTRIM and LRANGE count from the newest end
  std::string ttl_ms_;   // PEXPIRE of a room's list after each append or join
  std::map<std::string, std::deque<Kept>> kept_;  // appended while Redis was away, not yet written to it
  std::uint64_t seq_ = 0;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<HistoryStore> make_redis_history(const redis::RedisOptions& opts, std::size_t per_room,
                                                 std::chrono::milliseconds ttl) {
  auto parsed = redis::parse_redis_url(opts.url);
  if (!parsed.endpoint) throw std::runtime_error("--redis-url: " + parsed.error);
  if (per_room == 0) return std::make_unique<MemoryHistory>(0);  // history is off: no connection to keep
  return std::make_unique<RedisHistory>(opts, per_room, ttl);
}

}  // namespace peercable::store
