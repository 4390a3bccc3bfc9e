#pragma once
// permessage-deflate (RFC 7692): offer negotiation and the per-connection inflate/deflate streams.
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
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

/// Picks the first acceptable permessage-deflate offer from a Sec-WebSocket-Extensions header value.
/// Offers with unknown, repeated or invalid parameters are declined (RFC 7692 §5), as is
/// server_max_window_bits=8, which zlib cannot honour for raw deflate.
std::optional<DeflateParams> negotiate_deflate(std::string_view extensions_header);

/// The Sec-WebSocket-Extensions response value for `p`.
std::string deflate_response(const DeflateParams& p);

/// Inflates client messages; enforces a size limit on the inflated output.
class Inflater {
 public:
  explicit Inflater(const DeflateParams& p);
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

/// Deflates server messages for one connection.
class Deflater {
 public:
  explicit Deflater(const DeflateParams& p);
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
