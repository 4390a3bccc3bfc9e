#include "redis/redis_url.hpp"

#include <charconv>

#include "http/query.hpp"

namespace peercable::redis {
namespace {

RedisUrlResult fail(std::string why) {
  return {std::nullopt, std::move(why)};
}

// A decimal number in [lo, hi] made of digits only.
std::optional<int> number(std::string_view s, int lo, int hi) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  long long v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v < lo || v > hi) return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace

RedisUrlResult parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.rfind("rediss://", 0) == 0) return fail("rediss:// (TLS) is not supported; use redis://");
  if (url.rfind(kScheme, 0) != 0) return fail("must start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find('?') != std::string_view::npos) return fail("query parameters are not supported");
  if (rest.find('#') != std::string_view::npos) return fail("a fragment is not allowed");

  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

  RedisEndpoint ep;
  // The password may itself contain '@' when not escaped: the host starts after the last one.
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos)
      return fail("give the password as redis://:password@host or redis://user:password@host");
    // Any byte may be escaped in credentials (AUTH takes binary arguments), NUL included.
    auto user = http::percent_decode(userinfo.substr(0, colon), false, true);
    if (!user) return fail("bad percent-escape in the user name");
    auto password = http::percent_decode(userinfo.substr(colon + 1), false, true);
    if (!password) return fail("bad percent-escape in the password");
    ep.user = std::move(*user);
    ep.password = std::move(*password);
    if (ep.password.empty()) return fail("the password is empty");
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated [IPv6] host");
    ep.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after the [IPv6] host");
      port_text = after.substr(1);
      if (port_text.empty()) return fail("the port is empty");
    }
    if (ep.host.empty()) return fail("the host is empty");
  } else {
    auto colon = authority.find(':');
    std::string_view host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return fail("the port is empty");
    }
    if (!host.empty()) ep.host = std::string(host);
    for (char c : host) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                c == '_';
      if (!ok) return fail("the host has an invalid character");
    }
  }
  if (!port_text.empty()) {
    auto port = number(port_text, 1, 65535);
    if (!port) return fail("the port must be a number from 1 to 65535");
    ep.port = *port;
  }
  if (!path.empty()) {
    auto db = number(path, 0, 1 << 30);
    if (!db) return fail("the database must be a number, as in redis://host:6379/1");
    ep.db = *db;
  }
  return {std::move(ep), {}};
}

std::string redacted_url(const RedisEndpoint& ep) {
  std::string out = "redis://";
  if (!ep.password.empty()) {
    out += ep.user;
    out += ":***@";
  }
  if (ep.host.find(':') != std::string::npos) {
    out += '[';
    out += ep.host;
    out += ']';
  } else {
    out += ep.host;
  }
  out += ':';
  out += std::to_string(ep.port);
  out += '/';
  out += std::to_string(ep.db);
  return out;
}

}  // namespace peercable::redis
