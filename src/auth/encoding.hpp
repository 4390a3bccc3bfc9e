#pragma once
// Text encodings of binary data: strict Base64 (Ruby's strict_decode64), its URL-safe forms (Ruby's and the
// unpadded one of JWTs), and lowercase hex. The one home of each; pure.
#include <optional>
#include <string>
#include <string_view>

namespace peercable::auth {

/// Base64 as Ruby's Base64.strict_decode64 reads it (RFC 4648 alphabet, padded, no whitespace, unused bits
/// zero); nullopt otherwise.
std::optional<std::string> base64_strict_decode(std::string_view in);

/// URL-safe Base64 (RFC 4648 §5, '-' and '_'), padded or not, as Ruby's Base64.urlsafe_decode64 reads it;
/// nullopt otherwise.
std::optional<std::string> base64_urlsafe_decode(std::string_view in);

/// URL-safe Base64 without padding, as JWTs carry it (RFC 7515 §2), read as strictly; nullopt otherwise.
std::optional<std::string> base64url_decode(std::string_view in);

/// Base64 of `in`: the standard alphabet with padding, or with `url_safe` the URL-safe one without padding
/// (as JWTs use it).
std::string base64_encode(std::string_view in, bool url_safe = false);

/// Lowercase hex of `bytes`.
std::string hex_encode(std::string_view bytes);

}  // namespace peercable::auth
