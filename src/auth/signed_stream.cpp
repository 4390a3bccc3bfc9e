#include "auth/signed_stream.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include <stdexcept>

#include "auth/encoding.hpp"
#include "auth/jwt.hpp"
#include "json/writer.hpp"

namespace peercable::auth {
namespace {

constexpr std::string_view kTurboSalt = "turbo/signed_stream_verifier_key";
constexpr int kTurboKeyBytes = 64;  // KeyGenerator#generate_key's default size

std::string hex_hmac_sha256(std::string_view key, std::string_view data) {
  return hex_encode(hmac_sha256(key, data));
}

bool blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
  return true;
}

SignedStreamResult refused(const char* reason) {
  SignedStreamResult r;
  r.reason = reason;
  return r;
}

}  // namespace

std::string derive_turbo_stream_key(std::string_view secret_key_base, RailsKeyDigest digest) {
  std::string key(kTurboKeyBytes, '\0');
  const EVP_MD* md = digest == RailsKeyDigest::kSha1 ? EVP_sha1() : EVP_sha256();
  if (PKCS5_PBKDF2_HMAC(secret_key_base.data(), static_cast<int>(secret_key_base.size()),
                        reinterpret_cast<const unsigned char*>(kTurboSalt.data()), static_cast<int>(kTurboSalt.size()),
                        kRailsKeyIterations, md, kTurboKeyBytes, reinterpret_cast<unsigned char*>(key.data())) != 1)
    throw std::runtime_error("PBKDF2 key derivation failed");
  return key;
}

SignedStreamResult verify_signed_stream(std::string_view signed_name, std::string_view key, bool urlsafe_too) {
  if (signed_name.size() > kMaxSignedStreamBytes) return refused("signed stream name too long");
  // MessageVerifier splits on "--" and takes the first two parts; both must be present (non-blank).
  const auto d1 = signed_name.find("--");
  if (d1 == std::string_view::npos) return refused("malformed signed stream name");
  std::string_view data = signed_name.substr(0, d1);
  std::string_view digest = signed_name.substr(d1 + 2);
  if (auto d2 = digest.find("--"); d2 != std::string_view::npos) digest = digest.substr(0, d2);
  if (blank(data) || blank(digest)) return refused("malformed signed stream name");
  const std::string expected = hex_hmac_sha256(key, data);
  if (digest.size() != expected.size() || CRYPTO_memcmp(digest.data(), expected.data(), expected.size()) != 0)
    return refused("bad signature on stream name");
  auto json = base64_strict_decode(data);
  if (!json && urlsafe_too) json = base64_urlsafe_decode(data);
  if (!json) return refused("signed stream name is not Base64");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view name;
  if (parser.parse(*json).get(doc) || doc.get(name)) return refused("signed value is not a JSON string");
  SignedStreamResult r;
  r.stream = std::string(name);
  return r;
}

std::string sign_stream_name(std::string_view stream, std::string_view key) {
  std::string json;
  json::append_string(json, stream);
  const std::string b64 = base64_encode(json);
  return b64 + "--" + hex_hmac_sha256(key, b64);
}

}  // namespace peercable::auth
