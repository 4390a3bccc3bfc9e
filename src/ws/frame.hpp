#pragma once
// RFC 6455 §5.2 frame vocabulary: opcodes and the close codes peercable sends or accepts.
#include <cstdint>

namespace peercable::ws {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

/// Close status codes (RFC 6455 §7.4.1).
namespace close_code {
constexpr std::uint16_t kNormal = 1000;
constexpr std::uint16_t kGoingAway = 1001;
constexpr std::uint16_t kProtocolError = 1002;
constexpr std::uint16_t kUnsupportedData = 1003;
constexpr std::uint16_t kNoStatus = 1005;  // never sent on the wire
constexpr std::uint16_t kInvalidPayload = 1007;
constexpr std::uint16_t kPolicyViolation = 1008;
constexpr std::uint16_t kMessageTooBig = 1009;
constexpr std::uint16_t kInternalError = 1011;
constexpr std::uint16_t kTryAgainLater = 1013;
}  // namespace close_code

/// True for codes a peer may put in a close frame (RFC 6455 §7.4, IANA registry; 3000-4999 private use).
constexpr bool is_valid_close_code(std::uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) return true;
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014: return true;
    default: return false;
  }
}

constexpr bool is_control(Opcode op) noexcept {
  return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

}  // namespace peercable::ws
