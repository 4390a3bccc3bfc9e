#pragma once
// UTF-8 validation (RFC 3629). Two validators, each for one kind of input:
// - a whole buffer (a close reason, an inflated message) is checked at once by simdjson::validate_utf8,
//   through is_valid_utf8();
// - a text message that arrives in fragments is checked as it streams by Utf8Validator, which carries a
//   split code point from one fragment to the next, so invalid UTF-8 fails at the fragment that breaks it
//   (RFC 6455 §8.1 fail-fast) instead of after the whole message has been buffered.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace peercable::ws {

/// Streaming validator: feed bytes in pieces; state carries a split code point between pieces.
class Utf8Validator {
 public:
  /// Feeds `data`; returns false as soon as the bytes can no longer be valid UTF-8.
  bool feed(std::string_view data) noexcept;
  /// True when every code point fed so far is complete.
  bool complete() const noexcept { return need_ == 0 && !failed_; }
  void reset() noexcept { *this = Utf8Validator{}; }

 private:
  std::uint8_t need_ = 0;   // continuation bytes still expected
  std::uint8_t lo_ = 0x80;  // allowed range of the next continuation byte (narrower after E0, ED, F0, F4)
  std::uint8_t hi_ = 0xBF;
  bool failed_ = false;
};

/// True when `data` is entirely valid UTF-8 (simdjson::validate_utf8).
bool is_valid_utf8(std::string_view data) noexcept;

/// The longest prefix of `s` of at most `max_bytes` that does not split a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) noexcept;

}  // namespace peercable::ws
