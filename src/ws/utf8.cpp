#include "ws/utf8.hpp"

#include <simdjson.h>

#include <cstring>

namespace peercable::ws {

bool Utf8Validator::feed(std::string_view data) noexcept {
  if (failed_) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t n = data.size();
  std::size_t i = 0;
  while (i < n) {
    if (need_ == 0) {
      // Fast path: eight ASCII bytes at a time between code points.
      while (i + 8 <= n) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ULL) break;
        i += 8;
      }
      if (i >= n) break;
      const unsigned char b = p[i++];
      if (b < 0x80) continue;
      lo_ = 0x80;
      hi_ = 0xBF;
      // RFC 3629 §4: no overlong forms (C0, C1, E0 80-9F, F0 80-8F), no surrogates (ED A0-BF),
      // nothing above U+10FFFF (F4 90-BF, F5-FF).
      if (b >= 0xC2 && b <= 0xDF) {
        need_ = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        need_ = 2;
        if (b == 0xE0) lo_ = 0xA0;
        if (b == 0xED) hi_ = 0x9F;
      } else if (b >= 0xF0 && b <= 0xF4) {
        need_ = 3;
        if (b == 0xF0) lo_ = 0x90;
        if (b == 0xF4) hi_ = 0x8F;
      } else {
        failed_ = true;
        return false;
      }
      continue;
    }
    const unsigned char b = p[i++];
    if (b < lo_ || b > hi_) {
      failed_ = true;
      return false;
    }
    lo_ = 0x80;
    hi_ = 0xBF;
    --need_;
  }
  return true;
}

std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) noexcept {
  if (s.size() <= max_bytes) return s;
  std::size_t n = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the sequence that would be cut.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

bool is_valid_utf8(std::string_view data) noexcept {
  return simdjson::validate_utf8(data.data(), data.size());
}

}  // namespace peercable::ws
