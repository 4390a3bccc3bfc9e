#pragma once
// Parsing of redis:// URLs (the form Rails' cable.yml and REDIS_URL use). Pure: no sockets.
#include <optional>
#include <string>
#include <string_view>

namespace peercable::redis {

/// Where a Redis server is and how to sign in to it.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      // ACL user (Redis 6+); empty: the default user
  std::string password;  // empty: no AUTH
  int db = 0;

  bool operator==(const RedisEndpoint&) const = default;
};

/// Where Redis is and the prefix every channel and key of this deployment starts with.
struct RedisOptions {
  std::string url;             // redis://[user:password@]host:port/db
  std::string channel_prefix;  // Rails' channel_prefix; empty: none
};

struct RedisUrlResult {
  std::optional<RedisEndpoint> endpoint;
  std::string error;  // why the URL was refused, when endpoint is empty
};

/// Parses redis://[[user]:password@]host[:port][/db]. User and password are percent-decoded; an IPv6
/// host is written in brackets. Refuses other schemes (rediss:// included), query strings and fragments.
RedisUrlResult parse_redis_url(std::string_view url);

/// The endpoint as a URL safe to log: the password replaced by "***".
std::string redacted_url(const RedisEndpoint& ep);

}  // namespace peercable::redis
