#include "auth/turn_credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/encoding.hpp"

namespace peercable::auth {

TurnCredentials mint_turn_credentials(std::string_view secret, std::string_view user_id, std::int64_t now,
                                      std::int64_t ttl_seconds) {
  TurnCredentials c;
  c.expires_at = now + ttl_seconds;
  // coturn splits the username at the first ':' and reads the part before it as the expiry.
  c.username = std::to_string(c.expires_at) + ":" + std::string(user_id);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(c.username.data()), c.username.size(), mac, &mac_len);
  // Standard Base64 with padding, as coturn expects for the password.
  c.credential = base64_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
  return c;
}

}  // namespace peercable::auth
