// Fuzzes the signed stream name check (Turbo::StreamsChannel, $pubsub) and the Base64 decoders under it:
// no input may crash it, and a name this build signed must verify back to its stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "auth/encoding.hpp"
#include "auth/signed_stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace peercable::auth;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  static const std::string key = "fuzz-key";
  (void)verify_signed_stream(in, key, true);
  (void)base64_urlsafe_decode(in);
  if (auto raw = base64_strict_decode(in); raw && base64_encode(*raw) != in) std::abort();
  // Round trip: a stream name with valid UTF-8 signed here verifies to itself.
  const auto signed_name = sign_stream_name(in, key);
  const auto back = verify_signed_stream(signed_name, key);
  if (back.stream && *back.stream != in) std::abort();
  return 0;
}
