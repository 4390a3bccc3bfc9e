// permessage-deflate (RFC 7692) as seen from a client: what the server agreed to, and inflating its
// compressed messages. Pure functions and a zlib stream; no I/O.
#pragma once

#include <zlib.h>

#include <optional>
#include <string>
#include <string_view>

namespace loadgen {

/// The permessage-deflate parameters a server answered with (RFC 7692 §7.1).
struct DeflateAgreement {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;  ///< we offer client_max_window_bits without a value, so any 8..15 is valid
};

/// What a Sec-WebSocket-Extensions response value means for a client that offered only
/// `permessage-deflate; client_max_window_bits`.
struct ExtensionCheck {
  bool ok = false;                          ///< false: the response is invalid and the connection must fail
  std::optional<DeflateAgreement> deflate;  ///< set when deflate was accepted
  std::string error;                        ///< why the response is invalid
};

/// Checks a Sec-WebSocket-Extensions response value (empty: nothing agreed). Any valid RFC 7692 answer
/// is accepted; unknown extensions or parameters, repeats and out-of-range window bits are refused.
ExtensionCheck check_extensions_response(std::string_view value, bool offered_deflate);

/// Inflates whole messages compressed with raw deflate, each missing its 00 00 ff ff tail (RFC 7692 §7.2.2).
class MessageInflater {
 public:
  /// `reset_each_message`: the server does not keep its context (server_no_context_takeover), so the
  /// stream is reset after each message and one inflater can serve every such connection.
  explicit MessageInflater(bool reset_each_message);
  ~MessageInflater();
  MessageInflater(const MessageInflater&) = delete;
  MessageInflater& operator=(const MessageInflater&) = delete;

  /// Replaces `out` with the inflated `in`; false when the data is corrupt or inflates past `max_size`.
  bool inflate_message(std::string_view in, std::size_t max_size, std::string& out);

 private:
  z_stream z_{};
  bool ok_ = false;
  bool reset_each_message_;
};

}  // namespace loadgen
