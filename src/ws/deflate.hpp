#pragma once
// permessage-deflate (RFC 7692): offer negotiation and the inflate/deflate streams.
#include <zlib.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace peercable::ws {

/// The parameters agreed for one connection.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;  // the window our compressor uses for this connection
  int client_max_window_bits = 15;  // the largest window the client may use
  bool server_window_offered = false;  // the offer named server_max_window_bits: the response repeats it
  bool client_window_offered = false;  // the offer named client_max_window_bits: the response may limit it
};

/// How the server compresses: its side of every negotiation.
struct DeflateOptions {
  int window_bits = 15;  // 9..15: the compressor's window (LZ77 history), 2^bits bytes
  int mem_level = 8;     // 1..9: zlib's memory level (hash table size) of the compressor
  // false: every response carries server_ and client_no_context_takeover (RFC 7692 §7.1.1), so no connection
  // keeps zlib state of its own; one compressor and one decompressor per loop serve them all.
  // true: context takeover where the client allows it, with per-connection state made on first use.
  bool context_takeover = false;
};

/// Picks the first acceptable permessage-deflate offer from a Sec-WebSocket-Extensions header value and
/// fits it to `options`. Offers with unknown, repeated or invalid parameters are declined (RFC 7692 §5), as
/// is server_max_window_bits=8, which zlib cannot honour for raw deflate.
std::optional<DeflateParams> negotiate_deflate(std::string_view extensions_header, const DeflateOptions& options = {});

/// The Sec-WebSocket-Extensions response value for `p`.
std::string deflate_response(const DeflateParams& p);

/// Inflates client messages; enforces a size limit on the inflated output.
class Inflater {
 public:
  /// `reset_each_message`: the peer compresses every message on its own (no context takeover).
  Inflater(int window_bits, bool reset_each_message);
  explicit Inflater(const DeflateParams& p) : Inflater(p.client_max_window_bits, p.client_no_context_takeover) {}
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  enum class Result { kOk, kTooBig, kCorrupt };
  /// Inflates one whole compressed message into `out` (replaced), refusing output over `max_size` bytes.
  Result inflate_message(std::string_view in, std::size_t max_size, std::string& out);

 private:
  z_stream z_{};
  bool reset_each_message_;
};

/// Deflates server messages: for one connection, or for every connection of a loop when each message is
/// compressed on its own (`reset_each_message`).
class Deflater {
 public:
  Deflater(int window_bits, int mem_level, bool reset_each_message);
  explicit Deflater(const DeflateParams& p) : Deflater(p.server_max_window_bits, 8, p.server_no_context_takeover) {}
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  /// Compresses one message (the trailing 00 00 ff ff removed, RFC 7692 §7.2.1). Returns false on failure.
  bool deflate_message(std::string_view in, std::string& out);

 private:
  z_stream z_{};
  bool reset_each_message_;
};

}  // namespace peercable::ws
