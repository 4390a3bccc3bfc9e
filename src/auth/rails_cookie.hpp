#pragma once
// Sign-in from a Rails app's own session cookie: the encrypted cookie that
// ActionDispatch::Session::CookieStore writes with authenticated encryption (AES-256-GCM, Rails 5.2+).
// The key is derived as Rails.application.key_generator derives it, the cookie is decrypted and its
// metadata checked as Rails' EncryptedKeyRotatingCookieJar does, and the user id is read from one session
// key. Pure: no sockets, no logging.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/authenticator.hpp"

namespace peercable::auth {

/// PBKDF2 iterations of Rails::Application#key_generator (railties 5.2 through 8: `iterations: 1000`).
inline constexpr int kRailsKeyIterations = 1000;
/// Larger cookie values (as sent, percent-encoded) are refused unread. Rails itself writes at most 4 KiB.
inline constexpr std::size_t kMaxRailsCookieBytes = 8192;

/// The PBKDF2 digest of the app's key generator: SHA1 up to Rails 6.1, SHA256 from `load_defaults 7.0`
/// (config.active_support.key_generator_hash_digest_class).
enum class RailsKeyDigest { kSha1, kSha256 };

/// "sha1" or "sha256" (any case, "SHA-256" too); nullopt for anything else.
std::optional<RailsKeyDigest> parse_rails_key_digest(std::string_view name);

/// The AES-256-GCM key of a Rails app's encrypted cookies. Wiped when destroyed.
struct RailsCookieKey {
  std::array<unsigned char, 32> bytes{};

  RailsCookieKey() = default;
  RailsCookieKey(const RailsCookieKey&) = default;
  RailsCookieKey& operator=(const RailsCookieKey&) = default;
  ~RailsCookieKey();
};

/// The key Rails uses for encrypted cookies: key_generator.generate_key(salt, 32), i.e.
/// PBKDF2-HMAC-<digest>(secret_key_base, salt, 1000 iterations, 32 bytes). `salt` is the app's
/// config.action_dispatch.authenticated_encrypted_cookie_salt.
RailsCookieKey derive_rails_cookie_key(std::string_view secret_key_base, std::string_view salt, RailsKeyDigest digest);

/// Decodes the value of cookie `cookie_name` as the browser sent it (percent-encoded `data--iv--tag`) and
/// reads the user id from `session_key` at Unix time `now`. Accepted: Identity{id, name = id}. Refused, with
/// a short reason that never quotes the cookie: too large or malformed, not decrypting under `key`
/// (tampered, or another secret, digest or salt), a purpose other than "cookie.<cookie_name>", expired, not
/// JSON (a Marshal-serialized cookie is named as such), or no usable user id ("no user in the session").
/// Envelopes read: Rails 5.2 (none), 6.0+ {"_rails":{"message":base64,"exp","pur"}} and the
/// {"_rails":{"data":…,"exp","pur"}} form of Rails 7.1+ message serializers. The user id is a string, an
/// integer (written in decimal) or Warden's [[id, …], salt], whose first element of the first array is taken.
Verdict decode_rails_session(std::string_view cookie_value, const RailsCookieKey& key, std::string_view cookie_name,
                             std::string_view session_key, std::int64_t now);

/// What the rails-cookie authenticator needs from the configuration (the --rails-* options).
struct RailsCookieOptions {
  std::string secret_key_base;
  std::string cookie_name;                                     // e.g. "_myapp_session"
  std::string key_digest = "sha256";                           // "sha1" for apps on Rails 6.1 defaults or older
  std::string session_key = "user_id";                         // or "warden.user.user.key" (Devise)
  std::string cookie_salt = "authenticated encrypted cookie";  // authenticated_encrypted_cookie_salt
};

/// Signs a connection in from the Rails session cookie on its upgrade request (name "rails-cookie").
/// Absent when the request has no such cookie. The key is derived once, here; authenticate() is const
/// work on the call's own state, so any number of loops may call it at once.
class RailsCookieAuthenticator final : public Authenticator {
 public:
  /// Throws std::invalid_argument naming the bad option (empty secret or cookie name, unknown digest, empty
  /// session key): start-up only.
  explicit RailsCookieAuthenticator(const RailsCookieOptions& options);
  std::string_view name() const override { return "rails-cookie"; }
  void authenticate(const Credentials& credentials, Done done) override;

 private:
  RailsCookieKey key_;
  std::string cookie_name_;
  std::string session_key_;
};

/// The authenticator for `options`; throws std::invalid_argument as RailsCookieAuthenticator does.
std::unique_ptr<Authenticator> make_rails_cookie_authenticator(const RailsCookieOptions& options);

}  // namespace peercable::auth
