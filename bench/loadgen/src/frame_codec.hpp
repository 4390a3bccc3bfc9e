// RFC 6455 framing as seen from a client: parses the server's (unmasked) frames and encodes masked
// client frames. Pure functions over bytes; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loadgen {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

enum class ParseStatus { complete, need_more, protocol_error };

/// One frame found at the start of a byte buffer.
struct ParsedFrame {
  ParseStatus status = ParseStatus::need_more;
  bool fin = false;
  Opcode opcode = Opcode::continuation;
  bool compressed = false;      ///< RSV1 set: the first frame of a permessage-deflate message
  std::string_view payload;     ///< points into the input buffer
  std::size_t consumed = 0;     ///< bytes of header + payload when complete
  const char* error = nullptr;  ///< reason when status is protocol_error
};

/// Parses the frame at the start of `bytes`. Server frames must be unmasked and stay under `max_payload`;
/// control frames must be final and ≤ 125 bytes. RSV1 is allowed only with `deflate` (permessage-deflate
/// negotiated) and only on a text or binary frame (RFC 7692 §6); RSV2 and RSV3 never.
ParsedFrame parse_server_frame(std::string_view bytes, std::uint64_t max_payload, bool deflate = false);

/// Appends one final client frame with `payload` masked by `mask_key` (RFC 6455 §5.3) to `out`.
void append_client_frame(std::string& out, Opcode opcode, std::string_view payload, std::uint32_t mask_key);

}  // namespace loadgen
