#pragma once
// The Redis broker: nodes share broadcasts through Redis pub/sub, in the wire format of Rails' redis
// adapter, so Rails processes and peercable nodes on one Redis reach each other's clients.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.hpp"
#include "net/loop.hpp"
#include "redis/redis_url.hpp"

namespace peercable::broker {

using redis::RedisOptions;

/// The extended protocol's stream history in Redis (docs/adr/0006-stream-history-in-redis.md): every broadcast a
/// node publishes is sequenced there by one script (epoch, offset, kept capped) and reaches the nodes with its
/// position; Rails processes still get the bare payload on the Rails channel.
struct RedisStreamHistory {
  bool enabled = false;
  std::size_t limit = 100;          // broadcasts kept per stream (MAXLEN)
  std::chrono::seconds ttl{300};    // how long they are kept
  std::size_t max_streams = 10000;  // streams kept at once; the longest idle go first
  /// How long the node stays subscribed to a stream after its last local subscriber left: a Rails process
  /// publishes bare, and only a node subscribed to the stream sequences and keeps what it publishes.
  std::chrono::seconds linger{300};
};

/// Checks the server (AUTH, SELECT) and starts the broker's own thread with its two connections. Throws
/// std::runtime_error with a one-line message on a bad URL or when the server refuses the credentials or
/// the database; an unreachable server is not an error (the node serves its own clients and retries).
std::unique_ptr<Broker> make_redis_broker(const RedisOptions& opts, std::vector<net::Loop*> loops, Sink& sink,
                                          const RedisStreamHistory& history = {});

}  // namespace peercable::broker
