#include "frame_codec.hpp"

#include <cstring>

namespace loadgen {

namespace {

bool is_control(Opcode op) {
  return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

bool is_known(std::uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

ParsedFrame fail(const char* why) {
  ParsedFrame f;
  f.status = ParseStatus::protocol_error;
  f.error = why;
  return f;
}

}  // namespace

ParsedFrame parse_server_frame(std::string_view bytes, std::uint64_t max_payload, bool deflate) {
  ParsedFrame f;
  if (bytes.size() < 2) return f;
  const auto b0 = static_cast<std::uint8_t>(bytes[0]);
  const auto b1 = static_cast<std::uint8_t>(bytes[1]);
  if ((b0 & 0x30) != 0) return fail("RSV2 or RSV3 set");
  if (!is_known(b0 & 0x0F)) return fail("unknown opcode");
  f.compressed = (b0 & 0x40) != 0;
  if (f.compressed && !deflate) return fail("RSV1 set without permessage-deflate");
  if (f.compressed && (b0 & 0x0F) != 0x1 && (b0 & 0x0F) != 0x2)
    return fail("RSV1 set on a control or continuation frame");
  if ((b1 & 0x80) != 0) return fail("server frame is masked");
  f.fin = (b0 & 0x80) != 0;
  f.opcode = static_cast<Opcode>(b0 & 0x0F);

  std::uint64_t len = b1 & 0x7F;
  std::size_t header = 2;
  if (len == 126) {
    if (bytes.size() < 4) return f;
    len = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[2])) << 8) | static_cast<std::uint8_t>(bytes[3]);
    header = 4;
  } else if (len == 127) {
    if (bytes.size() < 10) return f;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<std::uint8_t>(bytes[2 + i]);
    header = 10;
    if (len >> 63) return fail("payload length has the top bit set");
  }
  if (is_control(f.opcode) && (len > 125 || !f.fin)) return fail("fragmented or oversized control frame");
  if (len > max_payload) return fail("frame larger than the configured limit");
  if (bytes.size() - header < len) return f;

  f.status = ParseStatus::complete;
  f.payload = bytes.substr(header, static_cast<std::size_t>(len));
  f.consumed = header + static_cast<std::size_t>(len);
  return f;
}

void append_client_frame(std::string& out, Opcode opcode, std::string_view payload, std::uint32_t mask_key) {
  const std::size_t len = payload.size();
  const std::size_t start = out.size();
  std::size_t header = 2 + 4;
  if (len >= 126) header += (len <= 0xFFFF) ? 2 : 8;
  out.resize(start + header + len);
  auto* p = reinterpret_cast<unsigned char*>(out.data() + start);

  *p++ = static_cast<unsigned char>(0x80 | static_cast<std::uint8_t>(opcode));
  if (len < 126) {
    *p++ = static_cast<unsigned char>(0x80 | len);
  } else if (len <= 0xFFFF) {
    *p++ = 0x80 | 126;
    *p++ = static_cast<unsigned char>(len >> 8);
    *p++ = static_cast<unsigned char>(len);
  } else {
    *p++ = 0x80 | 127;
    for (int i = 7; i >= 0; --i) *p++ = static_cast<unsigned char>(static_cast<std::uint64_t>(len) >> (8 * i));
  }
  unsigned char mask[4] = {static_cast<unsigned char>(mask_key >> 24), static_cast<unsigned char>(mask_key >> 16),
                           static_cast<unsigned char>(mask_key >> 8), static_cast<unsigned char>(mask_key)};
  std::memcpy(p, mask, 4);
  p += 4;
  for (std::size_t i = 0; i < len; ++i) p[i] = static_cast<unsigned char>(payload[i]) ^ mask[i & 3];
}

}  // namespace loadgen
