#pragma once
// Signed stream names, as turbo-rails and AnyCable make them: ActiveSupport::MessageVerifier with
// SHA256 and the JSON serializer, i.e. Base64(JSON(name)) + "--" + hex HMAC-SHA256(key, that Base64).
// Checked here as MessageVerifier#verified checks them, so a Rails app's `turbo_stream_from` tags and
// `signed_stream_name` values open streams with no Ruby process on the socket. Pure: no I/O, no logging.
#include <optional>
#include <string>
#include <string_view>

#include "auth/rails_cookie.hpp"

namespace peercable::auth {

/// Signed names longer than this are refused unread (an identifier is bounded by --max-identifier anyway).
inline constexpr std::size_t kMaxSignedStreamBytes = 4096;

/// The key turbo-rails signs with when config.turbo.signed_stream_verifier_key is not set:
/// Rails.application.key_generator.generate_key("turbo/signed_stream_verifier_key"), that is
/// PBKDF2-HMAC-<digest>(secret_key_base, that salt, 1000 iterations, 64 bytes).
std::string derive_turbo_stream_key(std::string_view secret_key_base, RailsKeyDigest digest);

/// The outcome of checking one signed name: the stream name, or why not (a short reason for the log that
/// never quotes the name).
struct SignedStreamResult {
  std::optional<std::string> stream;
  const char* reason = "";
};

/// Verifies `signed_name` under the HMAC key `key`. With `urlsafe_too`, the Base64 part may also be in the
/// URL-safe alphabet (AnyCable's Ruby signer writes it so). The signed value must be a JSON string.
SignedStreamResult verify_signed_stream(std::string_view signed_name, std::string_view key, bool urlsafe_too = false);

/// Signs `stream` as turbo-rails does (standard Base64): for tests and tools.
std::string sign_stream_name(std::string_view stream, std::string_view key);

}  // namespace peercable::auth
