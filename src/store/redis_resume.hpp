#pragma once
// The extended protocol's stream history and saved sessions in Redis, the same for every node: history
// requests and session lookups are answered on the store worker thread, never on a loop.
#include <chrono>
#include <memory>

#include "cable/session_store.hpp"
#include "cable/stream_log.hpp"
#include "redis/redis_url.hpp"
#include "store/store_worker.hpp"

namespace peercable::store {

struct RedisResume {
  std::unique_ptr<cable::RemoteStreamHistory> history;  // null unless asked for
  std::unique_ptr<cable::RemoteSessions> sessions;
};

/// One Redis connection for both, used only on `worker`'s thread (reconnecting, paced, while Redis is away:
/// meanwhile history requests are refused and sessions neither saved nor found). `history_ttl`: how old a
/// kept broadcast may be. Throws std::runtime_error on a bad URL or refused credentials.
RedisResume make_redis_resume(const redis::RedisOptions& opts, StoreWorker& worker, bool with_history,
                              std::chrono::seconds history_ttl);

}  // namespace peercable::store
