#pragma once
// Server-to-client frames (RFC 6455 §5.2): unmasked, built once and shared by reference.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ws/frame.hpp"

namespace peercable::ws {

/// An immutable encoded frame; one instance is queued on every connection that receives it.
using SharedFrame = std::shared_ptr<const std::string>;

/// Appends a frame header for a `size`-byte payload to `out`.
void append_frame_header(std::string& out, Opcode op, std::size_t size, bool fin = true, bool rsv1 = false);

/// Returns the whole frame carrying `payload`.
std::string encode_frame(Opcode op, std::string_view payload, bool rsv1 = false);

/// Returns a close frame with `code` and `reason` (reason cut to fit the 125-byte control limit).
std::string encode_close(std::uint16_t code, std::string_view reason = {});

/// Builds a shared text frame.
inline SharedFrame make_text_frame(std::string_view payload) {
  return std::make_shared<const std::string>(encode_frame(Opcode::kText, payload));
}

}  // namespace peercable::ws
