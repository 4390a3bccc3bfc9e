#pragma once
// TURN credentials in coturn's `use-auth-secret` scheme (the TURN REST API draft): a time-limited username
// "<expiry unix time>:<user id>" and its password base64(HMAC-SHA1(secret, username)). Pure.
#include <cstdint>
#include <string>
#include <string_view>

namespace peercable::auth {

/// A username and password a TURN server with the same shared secret accepts until `expires_at`.
struct TurnCredentials {
  std::string username;
  std::string credential;
  std::int64_t expires_at = 0;
};

/// Mints credentials for `user_id`, valid from `now` for `ttl_seconds`, signed with `secret`.
TurnCredentials mint_turn_credentials(std::string_view secret, std::string_view user_id, std::int64_t now,
                                      std::int64_t ttl_seconds);

}  // namespace peercable::auth
