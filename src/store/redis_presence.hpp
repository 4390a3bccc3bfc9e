#pragma once
// Presence shared by every node through Redis; this node's own view stays in memory as the fallback.
#include <memory>

#include "redis/redis_url.hpp"
#include "store/presence.hpp"

namespace peercable::store {

/// Presence kept in Redis: a hash per room whose fields are "<node>|<user id>" (value: the display name),
/// a set of node ids, and a liveness key per node that a heartbeat refreshes, so the users of a crashed
/// node vanish within seconds. While Redis is away, answers come from this node's memory and Redis is brought up to
/// date when it returns. Calls block at most a short timeout. Throws std::runtime_error on a bad URL or refused
/// credentials.
std::unique_ptr<PresenceStore> make_redis_presence(const redis::RedisOptions& opts);

}  // namespace peercable::store
