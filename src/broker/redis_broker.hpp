#pragma once
// The Redis broker: nodes share broadcasts through Redis pub/sub, in the wire format of Rails' redis
// adapter, so Rails processes and peercable nodes on one Redis reach each other's clients.
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.hpp"
#include "net/loop.hpp"
#include "redis/redis_url.hpp"

namespace peercable::broker {

using redis::RedisOptions;

/// Checks the server (AUTH, SELECT) and starts the broker's own thread with its two connections. Throws
/// std::runtime_error with a one-line message on a bad URL or when the server refuses the credentials or
/// the database; an unreachable server is not an error (the node serves its own clients and retries).
std::unique_ptr<Broker> make_redis_broker(const RedisOptions& opts, std::vector<net::Loop*> loops, Sink& sink);

}  // namespace peercable::broker
