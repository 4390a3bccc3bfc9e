#pragma once
// HS256 JSON Web Tokens (RFC 7519): verification of sign-in tokens and signing of guest tokens. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace peercable::auth {

/// Who is signed in: `id` from the `sub` claim, `name` from `name` (falls back to the id).
struct Identity {
  std::string id;
  std::string name;
};

/// Why a token was refused (logged, never sent to the client: Action Cable only says "unauthorized").
enum class TokenError { kMalformed, kBadAlgorithm, kBadSignature, kExpired, kNotYetValid, kNoSubject };
const char* to_string(TokenError e);

struct TokenResult {
  std::optional<Identity> identity;
  TokenError error = TokenError::kMalformed;
};

/// Verifies `token` against `secret` at Unix time `now` (exp and nbf honoured, no leeway).
TokenResult verify_jwt(std::string_view token, std::string_view secret, std::int64_t now);

/// Signs {"sub","name","iat","exp"} with HS256.
std::string sign_jwt(const Identity& who, std::string_view secret, std::int64_t now, std::int64_t ttl_seconds);

std::string base64url_encode(std::string_view in);
std::optional<std::string> base64url_decode(std::string_view in);

}  // namespace peercable::auth
