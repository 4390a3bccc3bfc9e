#pragma once
// What the HTTP auth hook (--auth-url, --auth-headers) is told to do: where the app answers, which request
// headers go to it, and the cache key of what was forwarded. Pure: no sockets.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/authenticator.hpp"

namespace peercable::auth {

/// Where the app answers: http://host[:port][/path[?query]].
struct HookUrl {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without its brackets
  std::uint16_t port = 80;
  std::string target = "/";  // path and query, as they go on the request line

  /// The Host header: the host (bracketed if IPv6), with ":port" unless it is 80.
  std::string authority() const;
};

/// Parses an --auth-url. On a bad one returns nothing and sets `error` to a sentence naming the problem.
std::optional<HookUrl> parse_hook_url(std::string_view url, std::string& error);

/// Parses --auth-headers (comma separated, any case) into distinct lower-case names. Refuses an empty list,
/// a name that is not an HTTP token, and the headers peercable sets itself (host, accept, x-forwarded-for…).
std::optional<std::vector<std::string>> parse_hook_headers(std::string_view list, std::string& error);

/// The (name, value) pairs of `credentials` to forward, in the order of `names`; a header sent several times
/// is forwarded each time. Empty values and values that could break the request (CR, LF, NUL) are left out.
std::vector<std::pair<std::string, std::string>> hook_forwarded_headers(const Credentials& credentials,
                                                                        const std::vector<std::string>& names);

/// The cache key of what is forwarded: SHA-256 over the names and values (length-prefixed), 32 raw bytes.
/// So the cache holds digests, never a cookie.
std::string hook_cache_key(const std::vector<std::pair<std::string, std::string>>& forwarded);

}  // namespace peercable::auth
