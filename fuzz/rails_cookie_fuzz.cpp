// Rails session cookies on arbitrary bytes: never crashes, never accepts an empty or oversized id, always
// gives a short reason. The first byte picks the mode: bit 0 clear, the rest is the cookie as
// sent (the seeds are real cookies Rails wrote under the fuzz key); set, the rest is a plaintext encrypted
// here under that key first, so that the envelope, expiry, inner base64 and session code behind the tag
// check is fuzzed as well. Bit 1 picks the session key (user_id or Warden's). Seeds in corpus/rails_cookie:
// cookie_* from `ruby tests/fixtures/rails_cookie.rb --secret-key-base fuzz-secret-key-base --digest sha256`
// (with --serializer marshal, --no-metadata for two of them), plain_* the same cookies decrypted.
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/rails_cookie.hpp"

namespace {

using peercable::auth::Outcome;
using peercable::auth::RailsCookieKey;

const RailsCookieKey& fuzz_key() {
  static const RailsCookieKey key = peercable::auth::derive_rails_cookie_key(
      "fuzz-secret-key-base", "authenticated encrypted cookie", peercable::auth::RailsKeyDigest::kSha256);
  return key;
}

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

/// "data--iv--tag" for `plain` under the fuzz key, as ActiveSupport::MessageEncryptor writes it.
std::string encrypt(std::string_view plain) {
  std::array<unsigned char, 12> iv{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::array<unsigned char, 16> tag{};
  std::string data(plain.size(), '\0');
  int len = 0, tail = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, fuzz_key().bytes.data(), iv.data());
  if (!plain.empty())
    EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(data.data()), &len,
                      reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(data.data()) + len, &tail);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag.size()), tag.data());
  EVP_CIPHER_CTX_free(ctx);
  return base64(reinterpret_cast<const unsigned char*>(data.data()), data.size()) + "--" +
         base64(iv.data(), iv.size()) + "--" + base64(tag.data(), tag.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool encrypted_mode = data[0] & 1;
  const std::string_view session_key = (data[0] & 2) ? "warden.user.user.key" : "user_id";
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string cookie = encrypted_mode ? encrypt(rest) : std::string(rest);

  auto v = peercable::auth::decode_rails_session(cookie, fuzz_key(), "_app_session", session_key, 1700000000);
  if (v.outcome == Outcome::kAccepted) {
    if (v.identity.id.empty() || v.identity.id.size() > 128 || v.identity.name != v.identity.id) __builtin_trap();
  } else {
    // Reasons are short fixed texts, so they cannot carry the cookie (a cookie may still spell part of one:
    // "d cookie" is in "malformed cookie").
    if (v.outcome != Outcome::kRefused || v.reason.empty() || v.reason.size() > 64) __builtin_trap();
  }
  return 0;
}
