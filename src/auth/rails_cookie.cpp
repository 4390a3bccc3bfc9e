#include "auth/rails_cookie.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "auth/encoding.hpp"
#include "http/query.hpp"

namespace peercable::auth {
namespace {

// Ruby's Marshal.dump starts with format version 4.8; Rails checks the same two bytes (MARSHAL_SIGNATURE).
constexpr std::string_view kMarshalSignature{"\x04\x08", 2};
// ActiveSupport::MessageEncryptor: the IV is Cipher#random_iv (12 bytes for GCM, and Cipher#iv= takes no
// other length), and a tag of any length but 16 is refused.
constexpr std::size_t kGcmIvBytes = 12;
constexpr std::size_t kGcmTagBytes = 16;
constexpr std::size_t kMaxUserIdBytes = 128;

constexpr const char* kNoUser = "no user in the session";
constexpr const char* kBadUserId = "unsupported user id in the session";

Verdict refused(const char* reason) {
  Verdict v;
  v.outcome = Outcome::kRefused;
  v.reason = reason;
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Text encodings
// ---------------------------------------------------------------------------------------------------------

/// Reads `n` decimal digits at `pos`, advancing it; -1 when they are not all digits.
int read_digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (std::size_t k = 0; k < n; ++k) {
    char c = s[pos + k];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

/// An instant as whole Unix seconds plus milliseconds in [0, 999].
struct Instant {
  std::int64_t seconds = 0;
  int millis = 0;
};

/// Rails' "exp": Time#iso8601(3) in UTC ("2024-05-01T12:00:00.000Z"). Also reads other fractions and a
/// numeric zone, as Time.iso8601 does; nullopt for anything without a zone or out of range.
std::optional<Instant> parse_iso8601(std::string_view s) {
  std::size_t p = 0;
  int y = read_digits(s, p, 4);
  if (y < 0 || !expect(s, p, '-')) return std::nullopt;
  int mo = read_digits(s, p, 2);
  if (mo < 0 || !expect(s, p, '-')) return std::nullopt;
  int d = read_digits(s, p, 2);
  if (d < 0 || !expect(s, p, 'T')) return std::nullopt;
  int h = read_digits(s, p, 2);
  if (h < 0 || !expect(s, p, ':')) return std::nullopt;
  int mi = read_digits(s, p, 2);
  if (mi < 0 || !expect(s, p, ':')) return std::nullopt;
  int sec = read_digits(s, p, 2);
  if (sec < 0) return std::nullopt;
  int millis = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    std::size_t digits = 0;
    int scale = 100;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      millis += (s[p] - '0') * scale;
      scale /= 10;
      ++p;
      ++digits;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
  }
  int offset_minutes = 0;
  if (p < s.size() && s[p] == 'Z') {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    const int sign = s[p] == '-' ? -1 : 1;
    ++p;
    int oh = read_digits(s, p, 2);
    if (p < s.size() && s[p] == ':') ++p;
    int om = read_digits(s, p, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;  // a local time: Rails never writes one, and whose zone would it be?
  }
  if (p != s.size() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  const std::int64_t days = sys_days{date}.time_since_epoch().count();
  Instant at;
  at.seconds = days * 86400 + h * 3600 + mi * 60 + sec - offset_minutes * 60;
  at.millis = millis;
  return at;
}

// ---------------------------------------------------------------------------------------------------------
// Decryption
// ---------------------------------------------------------------------------------------------------------

const unsigned char* as_bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

/// AES-256-GCM as MessageEncryptor#_decrypt does it (no associated data); nullopt when the tag does not
/// verify.
std::optional<std::string> aes_256_gcm_decrypt(const RailsCookieKey& key, std::string_view data, std::string_view iv,
                                               std::string_view tag) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) return std::nullopt;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes.data(), as_bytes(iv)) != 1)
    return std::nullopt;
  std::string out(data.size(), '\0');
  int len = 0;
  if (!data.empty() && EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, as_bytes(data),
                                         static_cast<int>(data.size())) != 1)
    return std::nullopt;
  std::array<unsigned char, kGcmTagBytes> expected_tag{};
  std::memcpy(expected_tag.data(), tag.data(), expected_tag.size());
  int tail = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(expected_tag.size()),
                          expected_tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &tail) != 1)
    return std::nullopt;
  out.resize(static_cast<std::size_t>(len + tail));
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The session
// ---------------------------------------------------------------------------------------------------------

/// A string or an integer id, as text; nullopt for any other JSON value.
std::optional<std::string> scalar_id(simdjson::dom::element e) {
  std::string_view s;
  if (e.get(s) == simdjson::SUCCESS) return std::string(s);
  std::int64_t i = 0;
  if (e.get(i) == simdjson::SUCCESS) return std::to_string(i);
  std::uint64_t u = 0;
  if (e.get(u) == simdjson::SUCCESS) return std::to_string(u);
  return std::nullopt;
}

/// The signed-in user of a session hash: session[session_key] as a string or integer, or Warden's
/// [[id, …], salt] (Devise's serialize_into_session).
Verdict user_from_session(simdjson::dom::element session, std::string_view session_key) {
  simdjson::dom::object hash;
  if (session.get(hash) != simdjson::SUCCESS) return refused("session is not a JSON object");
  simdjson::dom::element value;
  if (hash.at_key(session_key).get(value) != simdjson::SUCCESS || value.is_null()) return refused(kNoUser);
  simdjson::dom::array warden;
  if (value.get(warden) == simdjson::SUCCESS) {
    simdjson::dom::array key;
    if (warden.at(0).get(key) != simdjson::SUCCESS || key.at(0).get(value) != simdjson::SUCCESS)
      return refused(kBadUserId);
  }
  auto id = scalar_id(value);
  if (!id) return refused(kBadUserId);
  if (id->empty()) return refused(kNoUser);
  if (id->size() > kMaxUserIdBytes) return refused("user id too long");
  Verdict v;
  v.outcome = Outcome::kAccepted;
  v.identity.id = *id;
  v.identity.name = std::move(*id);
  return v;
}

/// Checks an envelope's "pur" and "exp" as Rails' Messages::Metadata does; nullptr when they pass, else
/// the reason. A missing or null field is not checked (Rails' cookie jar retries without a purpose).
const char* check_metadata(simdjson::dom::object rails, std::string_view cookie_name, std::int64_t now) {
  simdjson::dom::element pur;
  if (rails.at_key("pur").get(pur) == simdjson::SUCCESS && !pur.is_null()) {
    std::string_view purpose;
    if (pur.get(purpose) != simdjson::SUCCESS || purpose.size() != 7 + cookie_name.size() ||
        purpose.substr(0, 7) != "cookie." || purpose.substr(7) != cookie_name)
      return "cookie purpose mismatch";
  }
  simdjson::dom::element exp;
  if (rails.at_key("exp").get(exp) == simdjson::SUCCESS && !exp.is_null()) {
    std::string_view text;
    if (exp.get(text) != simdjson::SUCCESS) return "bad cookie expiry";
    auto at = parse_iso8601(text);
    if (!at) return "bad cookie expiry";
    // Fresh while now < exp; `now` is whole seconds, so compare with exp rounded up.
    if (now >= at->seconds + (at->millis > 0 ? 1 : 0)) return "cookie expired";
  }
  return nullptr;
}

}  // namespace

RailsCookieKey::~RailsCookieKey() {
  OPENSSL_cleanse(bytes.data(), bytes.size());
}

std::optional<RailsKeyDigest> parse_rails_key_digest(std::string_view name) {
  std::string lower;
  for (char c : name)
    if (c != '-') lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "sha1") return RailsKeyDigest::kSha1;
  if (lower == "sha256") return RailsKeyDigest::kSha256;
  return std::nullopt;
}

RailsCookieKey derive_rails_cookie_key(std::string_view secret_key_base, std::string_view salt, RailsKeyDigest digest) {
  RailsCookieKey key;
  const EVP_MD* md = digest == RailsKeyDigest::kSha1 ? EVP_sha1() : EVP_sha256();
  if (PKCS5_PBKDF2_HMAC(secret_key_base.data(), static_cast<int>(secret_key_base.size()), as_bytes(salt),
                        static_cast<int>(salt.size()), kRailsKeyIterations, md, static_cast<int>(key.bytes.size()),
                        key.bytes.data()) != 1)
    throw std::runtime_error("PBKDF2 key derivation failed");
  return key;
}

Verdict decode_rails_session(std::string_view cookie_value, const RailsCookieKey& key, std::string_view cookie_name,
                             std::string_view session_key, std::int64_t now) {
  if (cookie_value.size() > kMaxRailsCookieBytes) return refused("cookie too large");
  // Undoes Rack's escaping of the cookie value (%2B, %2F, %3D…). A '+' is kept as it is (Rack would read a
  // space, which base64 never holds), so a cookie relayed unescaped still reads.
  auto raw = http::percent_decode(cookie_value, false, true);
  if (!raw) return refused("malformed cookie");

  // "<data>--<iv>--<tag>", each strict base64 (MessageEncryptor's format for AEAD ciphers).
  std::string_view message = *raw;
  const auto d1 = message.find("--");
  if (d1 == std::string_view::npos) return refused("malformed cookie");
  const auto d2 = message.find("--", d1 + 2);
  if (d2 == std::string_view::npos || message.find("--", d2 + 2) != std::string_view::npos)
    return refused("malformed cookie");
  auto data = base64_strict_decode(message.substr(0, d1));
  auto iv = base64_strict_decode(message.substr(d1 + 2, d2 - d1 - 2));
  auto tag = base64_strict_decode(message.substr(d2 + 2));
  if (!data || !iv || !tag || iv->size() != kGcmIvBytes || tag->size() != kGcmTagBytes)
    return refused("malformed cookie");

  // Nothing of the plaintext is looked at before the tag has verified it.
  auto plain = aes_256_gcm_decrypt(key, *data, *iv, *tag);
  if (!plain) return refused("cookie failed to decrypt (wrong key or tampered)");
  if (plain->starts_with(kMarshalSignature))
    return refused("Marshal-serialized cookie: needs cookies_serializer :json");

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(*plain).get(doc) != simdjson::SUCCESS) return refused("cookie is not JSON");
  simdjson::dom::object top;
  simdjson::dom::element rails_element;
  if (doc.get(top) != simdjson::SUCCESS || top.at_key("_rails").get(rails_element) != simdjson::SUCCESS)
    return user_from_session(doc, session_key);  // Rails 5.2: the session itself, no metadata

  simdjson::dom::object rails;
  if (rails_element.get(rails) != simdjson::SUCCESS) return refused("malformed cookie envelope");
  if (const char* why = check_metadata(rails, cookie_name, now)) return refused(why);

  simdjson::dom::element session;
  if (rails.at_key("data").get(session) == simdjson::SUCCESS) return user_from_session(session, session_key);

  // Rails 6.0+ cookie jars: "message" is the serialized session, base64 inside the JSON envelope.
  std::string_view encoded;
  if (rails.at_key("message").get(encoded) != simdjson::SUCCESS) return refused("malformed cookie envelope");
  auto inner = base64_strict_decode(encoded);
  if (!inner) return refused("malformed cookie envelope");
  if (inner->starts_with(kMarshalSignature))
    return refused("Marshal-serialized cookie: needs cookies_serializer :json");
  simdjson::dom::parser inner_parser;
  if (inner_parser.parse(*inner).get(session) != simdjson::SUCCESS) return refused("cookie is not JSON");
  return user_from_session(session, session_key);
}

RailsCookieAuthenticator::RailsCookieAuthenticator(const RailsCookieOptions& options)
    : cookie_name_(options.cookie_name), session_key_(options.session_key) {
  if (options.secret_key_base.empty()) throw std::invalid_argument("rails-cookie: --rails-secret-key-base is empty");
  if (cookie_name_.empty()) throw std::invalid_argument("rails-cookie: --rails-cookie-name is empty");
  if (session_key_.empty()) throw std::invalid_argument("rails-cookie: --rails-session-key is empty");
  auto digest = parse_rails_key_digest(options.key_digest);
  if (!digest) throw std::invalid_argument("rails-cookie: --rails-key-digest must be sha1 or sha256");
  key_ = derive_rails_cookie_key(options.secret_key_base, options.cookie_salt, *digest);
}

void RailsCookieAuthenticator::authenticate(const Credentials& credentials, Done done) {
  auto value = cookie_value(credentials.cookie_header, cookie_name_);
  if (value.empty()) {
    Verdict v;
    v.reason = "no session cookie";
    done(std::move(v));
    return;
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  done(decode_rails_session(value, key_, cookie_name_, session_key_, static_cast<std::int64_t>(now)));
}

std::unique_ptr<Authenticator> make_rails_cookie_authenticator(const RailsCookieOptions& options) {
  return std::make_unique<RailsCookieAuthenticator>(options);
}

}  // namespace peercable::auth
