#pragma once
// Room history shared by every node through Redis; this node's memory holds it while Redis is away.
#include <chrono>
#include <cstddef>
#include <memory>

#include "redis/redis_url.hpp"
#include "store/history.hpp"

namespace peercable::store {

/// History kept in Redis: a list per room, `[prefix:]peercable:history:<room>`, trimmed to the newest
/// `per_room` messages on every append; a list expires `ttl` after its last append or read (a join). While Redis is
/// away, appends are kept in this node's memory (at most `per_room` per room), served from there, and written to Redis
/// when it returns. Calls block the caller (the store worker) at most a short timeout. With `per_room` 0 history is off
/// and Redis is not used. Throws std::runtime_error on a bad URL or refused credentials.
std::unique_ptr<HistoryStore> make_redis_history(const redis::RedisOptions& opts, std::size_t per_room,
                                                 std::chrono::milliseconds ttl);

}  // namespace peercable::store
