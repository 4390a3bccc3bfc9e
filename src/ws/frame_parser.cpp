#include "ws/frame_parser.hpp"

#include <cstring>

namespace peercable::ws {
namespace {

constexpr std::size_t kKeepCapacity = std::size_t{16} << 10;

void unmask(std::uint8_t* p, std::size_t n, const std::uint8_t key[4]) {
  std::uint32_t k32;
  std::memcpy(&k32, key, 4);
  const std::uint64_t k64 = (static_cast<std::uint64_t>(k32) << 32) | k32;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= k64;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) p[i] ^= key[i & 3];
}

}  // namespace

bool FrameParser::fail(FrameHandler& h, std::uint16_t code, std::string_view why) {
  finished_ = true;
  message_.clear();
  h.on_protocol_error(code, why);
  return false;
}

std::size_t FrameParser::parse(std::uint8_t* data, std::size_t size, FrameHandler& h) {
  std::size_t pos = 0;
  while (!finished_) {
    const std::size_t avail = size - pos;
    if (avail < 2) break;
    std::uint8_t* p = data + pos;
    const bool fin = p[0] & 0x80;
    const bool rsv1 = p[0] & 0x40;
    const std::uint8_t rsv23 = p[0] & 0x30;
    const auto op = static_cast<Opcode>(p[0] & 0x0F);
    const bool masked = p[1] & 0x80;
    std::uint64_t len = p[1] & 0x7F;
    std::size_t header = 2;

    // Checks that need only the first two bytes come first, so garbage fails fast.
    if (rsv23) return fail(h, close_code::kProtocolError, "reserved bits set"), pos;
    switch (op) {
      case Opcode::kContinuation:
      case Opcode::kText:
      case Opcode::kBinary:
      case Opcode::kClose:
      case Opcode::kPing:
      case Opcode::kPong: break;
      default: return fail(h, close_code::kProtocolError, "reserved opcode"), pos;
    }
    if (is_control(op)) {
      if (!fin) return fail(h, close_code::kProtocolError, "fragmented control frame"), pos;
      if (len > 125) return fail(h, close_code::kProtocolError, "control frame too long"), pos;
      if (rsv1) return fail(h, close_code::kProtocolError, "RSV1 on a control frame"), pos;
    } else if (rsv1 && (!deflate_ || op == Opcode::kContinuation)) {
      return fail(h, close_code::kProtocolError, "RSV1 set without permessage-deflate"), pos;
    }
    if (!masked && options_.require_mask) return fail(h, close_code::kProtocolError, "unmasked client frame"), pos;

    if (len == 126) {
      if (avail < 4) break;
      len = (std::uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
      if (len >> 63) return fail(h, close_code::kProtocolError, "invalid frame length"), pos;
    }
    // Refuse oversize messages from the header alone, before buffering the payload.
    const std::size_t so_far = in_message_ && !is_control(op) ? message_.size() : 0;
    if (!is_control(op) && len + so_far > options_.max_message_size)
      return fail(h, close_code::kMessageTooBig, "message too big"), pos;
    if (masked) header += 4;
    if (avail < header + len) break;
    std::uint8_t* payload = p + header;
    if (masked) unmask(payload, len, p + header - 4);
    std::string_view body(reinterpret_cast<char*>(payload), len);
    pos += header + len;
    const bool ok = is_control(op) ? handle_control(op, body, h) : handle_data(op, fin, rsv1, body, h);
    if (!ok) break;
  }
  return pos;
}

bool FrameParser::handle_control(Opcode op, std::string_view payload, FrameHandler& h) {
  if (op == Opcode::kPing) {
    h.on_ping(payload);
    return true;
  }
  if (op == Opcode::kPong) {
    h.on_pong(payload);
    return true;
  }
  // Close (RFC 6455 §5.5.1): empty, or a valid 2-byte code and a UTF-8 reason.
  if (payload.size() == 1) return fail(h, close_code::kProtocolError, "close frame with a 1-byte payload");
  std::uint16_t code = close_code::kNoStatus;
  std::string_view reason;
  if (payload.size() >= 2) {
    code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                      static_cast<std::uint8_t>(payload[1]));
    if (!is_valid_close_code(code)) return fail(h, close_code::kProtocolError, "invalid close code");
    reason = payload.substr(2);
    if (!is_valid_utf8(reason)) return fail(h, close_code::kInvalidPayload, "close reason is not UTF-8");
  }
  finished_ = true;
  h.on_close(code, reason);
  return false;
}

bool FrameParser::handle_data(Opcode op, bool fin, bool rsv1, std::string_view payload, FrameHandler& h) {
  if (op == Opcode::kContinuation) {
    if (!in_message_) return fail(h, close_code::kProtocolError, "continuation without a message");
  } else {
    if (in_message_) return fail(h, close_code::kProtocolError, "new message inside a fragmented one");
    message_op_ = op;
    message_compressed_ = rsv1;
    utf8_.reset();
  }
  // Text is checked as it arrives so invalid UTF-8 fails at the fragment that breaks it (§8.1).
  if (message_op_ == Opcode::kText && !message_compressed_ && !utf8_.feed(payload))
    return fail(h, close_code::kInvalidPayload, "Could not decode a text frame as UTF-8");

  std::string_view whole;
  if (fin && !in_message_) {
    whole = payload;  // the common case: one unfragmented frame, no copy
  } else {
    message_.append(payload);
    in_message_ = !fin;
    if (!fin) return true;
    whole = message_;
  }
  in_message_ = false;
  if (message_compressed_) {
    if (!inflater_) {
      own_inflater_ = std::make_unique<Inflater>(own_window_bits_, own_reset_);
      inflater_ = own_inflater_.get();
    }
    auto r = inflater_->inflate_message(whole, options_.max_message_size, inflated_);
    if (r == Inflater::Result::kTooBig) return fail(h, close_code::kMessageTooBig, "message too big");
    if (r == Inflater::Result::kCorrupt) return fail(h, close_code::kInvalidPayload, "corrupt compressed message");
    whole = inflated_;
    if (message_op_ == Opcode::kText && !is_valid_utf8(whole))
      return fail(h, close_code::kInvalidPayload, "Could not decode a text frame as UTF-8");
  } else if (message_op_ == Opcode::kText && !utf8_.complete()) {
    return fail(h, close_code::kInvalidPayload, "Could not decode a text frame as UTF-8");
  }
  h.on_message(message_op_, whole);
  message_.clear();
  // Buffers shrink back after a large message: an idle connection keeps only what a small one needs.
  if (message_.capacity() > kKeepCapacity) std::string().swap(message_);
  if (inflated_.capacity() > kKeepCapacity) std::string().swap(inflated_);
  return !finished_;
}

}  // namespace peercable::ws
