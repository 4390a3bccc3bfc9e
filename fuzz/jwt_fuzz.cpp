// Token verification on arbitrary strings: never accepted without the secret, never crashes.
#include <cstdint>
#include <string_view>

#include "auth/encoding.hpp"
#include "auth/jwt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  auto r = peercable::auth::verify_jwt(token, "fuzz-secret", 1000);
  if (r.identity && r.identity->id.empty()) __builtin_trap();
  peercable::auth::base64url_decode(token);
  return 0;
}
