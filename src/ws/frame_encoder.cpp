#include "ws/frame_encoder.hpp"

#include "ws/utf8.hpp"

namespace peercable::ws {

void append_frame_header(std::string& out, Opcode op, std::size_t size, bool fin, bool rsv1) {
  char h[10];
  std::size_t n = 2;
  h[0] = static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<std::uint8_t>(op));
  if (size < 126) {
    h[1] = static_cast<char>(size);
  } else if (size <= 0xFFFF) {
    h[1] = 126;
    h[2] = static_cast<char>(size >> 8);
    h[3] = static_cast<char>(size);
    n = 4;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; ++i) h[2 + i] = static_cast<char>(static_cast<std::uint64_t>(size) >> (56 - 8 * i));
    n = 10;
  }
  out.append(h, n);
}

std::string encode_frame(Opcode op, std::string_view payload, bool rsv1) {
  std::string out;
  out.reserve(payload.size() + 10);
  append_frame_header(out, op, payload.size(), true, rsv1);
  out.append(payload);
  return out;
}

std::string encode_close(std::uint16_t code, std::string_view reason) {
  reason = utf8_prefix(reason, 123);
  std::string body;
  if (code != close_code::kNoStatus) {
    body.push_back(static_cast<char>(code >> 8));
    body.push_back(static_cast<char>(code & 0xFF));
    body.append(reason);
  }
  return encode_frame(Opcode::kClose, body);
}

}  // namespace peercable::ws
