#pragma once
// HS256 JSON Web Tokens (RFC 7519): verification of sign-in tokens and signing of guest tokens. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include <simdjson.h>

namespace peercable::auth {

/// Who is signed in: `id` from the `sub` claim, `name` from `name` (falls back to the id).
struct Identity {
  std::string id;
  std::string name;
  bool guest = false;              // signed in through POST /session: public rooms only
  std::vector<std::string> rooms{};  // private P2P rooms (patterns, '*' any run) the app lets this user join
};

/// Most room patterns one identity may carry, and the longest one: a token or hook answer with more is refused.
inline constexpr std::size_t kMaxIdentityRooms = 64;
inline constexpr std::size_t kMaxRoomPatternBytes = 128;

/// Reads the room patterns a token claim or a hook answer grants (`"rooms": ["team-*", "ops"]`) into
/// `rooms`. False when `value` is not an array of 1..kMaxRoomPatternBytes-byte strings, or holds more than
/// kMaxIdentityRooms of them.
bool read_room_patterns(simdjson::dom::element value, std::vector<std::string>& rooms);

/// Why a token was refused (logged, never sent to the client: Action Cable only says "unauthorized").
enum class TokenError {
  kMalformed,
  kBadAlgorithm,
  kBadSignature,
  kExpired,
  kNotYetValid,
  kIssuedInFuture,
  kBadIssuer,
  kBadAudience,
  kNoSubject
};
const char* to_string(TokenError e);

struct TokenResult {
  std::optional<Identity> identity;
  TokenError error = TokenError::kMalformed;
};

struct JwtOptions {
  std::string secret;           // signs new tokens; accepted
  std::string previous_secret;  // also accepted when not empty (key rotation)
  std::int64_t leeway = 0;      // seconds of clock skew allowed on exp, nbf and iat
  std::string issuer;           // required "iss" when not empty
  std::string audience;         // required among "aud" (a string or an array) when not empty
};

/// Verifies `token` at Unix time `now`: HS256 signature by either secret, then exp, nbf, iat (with the
/// leeway), iss and aud, then sub.
TokenResult verify_jwt(std::string_view token, const JwtOptions& options, std::int64_t now);
/// The same with one secret and no leeway.
TokenResult verify_jwt(std::string_view token, std::string_view secret, std::int64_t now);

/// Signs the claims object `claims_json` with HS256.
std::string sign_jwt_claims(std::string_view claims_json, std::string_view secret);
/// Signs {"sub","name","iat","exp"} with HS256.
std::string sign_jwt(const Identity& who, std::string_view secret, std::int64_t now, std::int64_t ttl_seconds);
/// The same with the current secret of `options`, adding "iss" and "aud" when those are required.
std::string sign_jwt(const Identity& who, const JwtOptions& options, std::int64_t now, std::int64_t ttl_seconds);

/// The raw HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace peercable::auth
