#include "store/redis_presence.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "redis/redis_sync.hpp"
#include "redis/redis_url.hpp"
#include "redis/sync_client.hpp"

namespace peercable::store {
namespace {

using namespace std::chrono_literals;
constexpr auto kHeartbeat = 5s;                        // liveness refresh
constexpr const char* kNodeTtlMs = "15000";            // a node silent this long is gone, and so are its users

// One round trip per call. KEYS: the room's hash, this node's liveness key, the set of node ids. "join" and
// "leave" record the change and return how many live nodes other than ours hold the same user in the room
// (a few nodes: no scan of the room). "members" returns the room's entries of live nodes as a flat list
// [user, name, ...], deleting those of nodes whose liveness key has expired.
constexpr const char* kScript = R"lua(
local room, op, node, user, node_prefix = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[5]
redis.call('SET', KEYS[2], '1', 'PX', ARGV[6])
redis.call('SADD', KEYS[3], node)
if op == 'members' then
  local fields = redis.call('HGETALL', room)
  local alive, out = {}, {}
  for i = 1, #fields, 2 do
    local f = fields[i]
    local bar = string.find(f, '|', 1, true)
    if bar then
      local n = string.sub(f, 1, bar - 1)
      if alive[n] == nil then alive[n] = redis.call('EXISTS', node_prefix .. n) == 1 end
      if alive[n] then
        out[#out + 1] = string.sub(f, bar + 1)
        out[#out + 1] = fields[i + 1]
      else
        redis.call('HDEL', room, f)
      end
    end
  end
  return out
end
if op == 'join' then
  redis.call('HSET', room, node .. '|' .. user, ARGV[4])
else
  redis.call('HDEL', room, node .. '|' .. user)
end
local others = 0
for _, n in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if n ~= node then
    if redis.call('EXISTS', node_prefix .. n) == 1 then
      others = others + redis.call('HEXISTS', room, n .. '|' .. user)
    else
      redis.call('SREM', KEYS[3], n)
    end
  end
end
return others
)lua";

std::string random_node_id() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) id += kHex[rd() & 15];
  return id;
}

class RedisPresence final : public PresenceStore {
 public:
  explicit RedisPresence(const redis::RedisOptions& opts)
      : client_(redis::SyncClient::from_url(opts.url, {"presence", "using this node's presence until it is back"})),
        ns_((opts.channel_prefix.empty() ? std::string() : opts.channel_prefix + ":") + "peercable:presence:"),
        node_(random_node_id()),
        node_key_(ns_ + "node:" + node_),
        nodes_key_(ns_ + "nodes") {
    if (client_.up()) {
      std::lock_guard lock(mutex_);
      resync_locked();
    }
    thread_ = std::thread([this] { heartbeat(); });
    pthread_setname_np(thread_.native_handle(), "redis-presence");
  }

  ~RedisPresence() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    std::lock_guard lock(mutex_);
    // Our entries are dropped at the next read of each room.
    if (client_.command({"DEL", node_key_})) client_.command({"SREM", nodes_key_, node_});
  }

  bool join(const std::string& room, const auth::Identity& who) override {
    std::lock_guard lock(mutex_);
    auto& m = local_[room][who.id];
    m.name = who.name;
    if (++m.count > 1) return false;
    removed_.erase({room, who.id});
    auto others = change_locked("join", room, who);
    return !others || *others == 0;
  }

  bool leave(const std::string& room, const auth::Identity& who) override {
    std::lock_guard lock(mutex_);
    auto r = local_.find(room);
    if (r == local_.end()) return false;
    auto m = r->second.find(who.id);
    if (m == r->second.end() || --m->second.count > 0) return false;
    r->second.erase(m);
    if (r->second.empty()) local_.erase(r);
    auto others = change_locked("leave", room, who);
    if (!others) removed_.insert({room, who.id});  // Redis is away: take the entry out when it returns
    return !others || *others == 0;
  }

  std::vector<auth::Identity> members(const std::string& room) override {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::string> by_id;
    if (client_.up()) {
      auto r = eval_locked("members", room, {});
      if (r && r->type == REDIS_REPLY_ARRAY) {
        for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
          auto* u = r->element[i];
          auto* n = r->element[i + 1];
          if (u->type == REDIS_REPLY_STRING && n->type == REDIS_REPLY_STRING)
            by_id.try_emplace(std::string(u->str, u->len), std::string(n->str, n->len));
        }
      }
    }
    // Our own members always count, even when Redis lost them (a restart) and the heartbeat has not yet
    // put them back.
    auto r = local_.find(room);
    if (r != local_.end())
      for (const auto& [id, m] : r->second) by_id.try_emplace(id, m.name);
    std::vector<auth::Identity> out;
    out.reserve(by_id.size());
    for (auto& [id, name] : by_id) out.push_back({id, std::move(name)});
    return out;
  }

 private:
  struct Member {
    std::string name;
    int count = 0;
  };

  std::string room_key(const std::string& room) const { return ns_ + "room:" + room; }

  // Runs the script; null (and Redis marked away) when the connection failed.
  redis::RedisReplyPtr eval_locked(const char* op, const std::string& room, const auth::Identity& who) {
    auto r = client_.command({"EVAL", kScript, "3", room_key(room), node_key_, nodes_key_, op, node_, who.id, who.name,
                              ns_ + "node:", kNodeTtlMs});
    if (!r) {
      lost_locked();
      return nullptr;
    }
    if (r->type == REDIS_REPLY_ERROR) {
      spdlog::warn("redis presence: {}", std::string_view(r->str, r->len));
      return nullptr;
    }
    return r;
  }

  // Records a join or leave; how many entries other nodes hold for the user, or nothing without Redis.
  std::optional<long long> change_locked(const char* op, const std::string& room, const auth::Identity& who) {
    if (!client_.up()) return std::nullopt;
    auto r = eval_locked(op, room, who);
    if (!r || r->type != REDIS_REPLY_INTEGER) return std::nullopt;
    return r->integer;
  }

  void lost_locked() {
    if (client_.up()) client_.lost();
    kick_ = true;  // the heartbeat starts reconnecting now, not at its next beat
    wake_.notify_all();
  }

  // Puts this node's entries back (after a reconnect, or when our liveness key had expired) and takes out
  // those that left while Redis was away. Pipelined: one round trip.
  void resync_locked() {
    std::vector<std::vector<std::string>> commands;
    commands.push_back({"SET", node_key_, "1", "PX", kNodeTtlMs});
    commands.push_back({"SADD", nodes_key_, node_});
    for (const auto& [room, users] : local_)
      for (const auto& [id, m] : users) commands.push_back({"HSET", room_key(room), node_ + "|" + id, m.name});
    for (const auto& [room, id] : removed_) commands.push_back({"HDEL", room_key(room), node_ + "|" + id});
    if (client_.pipeline(commands).empty()) return lost_locked();
    removed_.clear();
  }

  void heartbeat() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (!client_.up()) {
        lock.unlock();  // connecting may take the whole timeout: loops keep working meanwhile
        auto attempt = client_.attempt();
        lock.lock();
        if (!stopping_ && client_.adopt(std::move(attempt))) resync_locked();
      } else {
        auto existed = client_.command({"EXISTS", node_key_});
        if (existed && existed->type == REDIS_REPLY_INTEGER && existed->integer == 0) {
          resync_locked();  // Redis restarted, or we were away longer than the TTL
        } else if (!existed || !client_.command({"PEXPIRE", node_key_, kNodeTtlMs})) {
          lost_locked();
        }
      }
      std::chrono::milliseconds pause = client_.up() ? kHeartbeat : client_.next_pause();
      kick_ = false;
      wake_.wait_for(lock, pause, [this] { return stopping_ || kick_; });
    }
  }

  std::mutex mutex_;  // guards everything below; Redis calls are made under it (short timeouts)
  redis::SyncClient client_;
  std::string ns_;
  std::string node_;
  std::string node_key_;
  std::string nodes_key_;
  std::map<std::string, std::map<std::string, Member>> local_;  // this node's subscriptions
  std::set<std::pair<std::string, std::string>> removed_;       // (room, user) that left while Redis was away
  bool stopping_ = false;
  bool kick_ = false;  // Redis was found away by a caller
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<PresenceStore> make_redis_presence(const redis::RedisOptions& opts) {
  return std::make_unique<RedisPresence>(opts);
}

}  // namespace peercable::store
