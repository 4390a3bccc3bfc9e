#pragma once
// Pure RFC 6455 parser for client-to-server frames: bytes in, events out, no I/O.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ws/deflate.hpp"
#include "ws/frame.hpp"
#include "ws/utf8.hpp"

namespace peercable::ws {

/// Receives what the parser finds. Each callback's string_view is valid only during the call.
class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  /// A whole (reassembled, inflated, UTF-8-checked) text or binary message.
  virtual void on_message(Opcode op, std::string_view payload) = 0;
  virtual void on_ping(std::string_view payload) = 0;
  virtual void on_pong(std::string_view payload) = 0;
  /// The peer's close frame; `code` is close_code::kNoStatus when it carried none.
  virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
  /// The input broke the protocol; the connection must be closed with `code` (1002, 1007 or 1009).
  virtual void on_protocol_error(std::uint16_t code, std::string_view why) = 0;
};

struct ParserOptions {
  std::size_t max_message_size = 1 << 20;  // after reassembly and inflation
  bool require_mask = true;                // RFC 6455 §5.1: clients must mask
};

/// Parses a client's byte stream. After an error or a close frame it consumes nothing more.
class FrameParser {
 public:
  explicit FrameParser(ParserOptions options = {}) : options_(options) {}

  /// Turns on permessage-deflate (RSV1) with the negotiated parameters. Without client context takeover the
  /// loop's `shared` inflater (when given) does the work; otherwise one of our own is made on first use.
  void enable_deflate(const DeflateParams& params, Inflater* shared = nullptr) {
    deflate_ = true;
    own_window_bits_ = params.client_max_window_bits;
    own_reset_ = params.client_no_context_takeover;
    inflater_ = params.client_no_context_takeover ? shared : nullptr;
  }

  /// Parses as many whole frames as `data` holds, unmasking in place, and returns the bytes consumed;
  /// the caller keeps the rest and offers it again with more bytes appended.
  std::size_t parse(std::uint8_t* data, std::size_t size, FrameHandler& handler);

  /// True once a close frame or a protocol error has been seen.
  bool finished() const noexcept { return finished_; }

 private:
  bool fail(FrameHandler& h, std::uint16_t code, std::string_view why);
  bool handle_data(Opcode op, bool fin, bool rsv1, std::string_view payload, FrameHandler& h);
  bool handle_control(Opcode op, std::string_view payload, FrameHandler& h);

  ParserOptions options_;
  Inflater* inflater_ = nullptr;  // the loop's shared one, or own_inflater_ once made
  std::unique_ptr<Inflater> own_inflater_;
  bool deflate_ = false;
  bool own_reset_ = false;
  int own_window_bits_ = 15;
  bool finished_ = false;
  bool in_message_ = false;  // a fragmented message is being reassembled
  bool message_compressed_ = false;
  Opcode message_op_ = Opcode::kText;
  std::string message_;  // fragments so far (compressed bytes when compressed)
  std::string inflated_;
  Utf8Validator utf8_;
};

}  // namespace peercable::ws
