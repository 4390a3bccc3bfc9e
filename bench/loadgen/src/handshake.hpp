// The client side of the WebSocket opening handshake (RFC 6455 §4.1) for the Action Cable subprotocol.
#pragma once

#include <string>
#include <string_view>

namespace loadgen {

inline constexpr std::string_view kCableProtocol = "actioncable-v1-json";

/// A request ready to send and the Sec-WebSocket-Accept value the server must answer with.
struct UpgradeRequest {
  std::string bytes;
  std::string expected_accept;
};

/// Builds the GET upgrade request for `path` on `host_header`, offering the Action Cable subprotocols
/// the way @rails/actioncable does, with a fresh random Sec-WebSocket-Key.
UpgradeRequest make_upgrade_request(std::string_view host_header, std::string_view path);

enum class HandshakeStatus { incomplete, accepted, rejected };

/// Result of looking at the bytes received so far.
struct HandshakeResult {
  HandshakeStatus status = HandshakeStatus::incomplete;
  std::size_t header_bytes = 0;  ///< length of the response head when accepted (frames may follow)
  std::string reason;            ///< why it was rejected
};

/// Checks the server's response: 101, Upgrade/Connection, the accept key and the selected subprotocol
/// (a server that selects none is rejected, as browsers and strict clients do).
HandshakeResult check_upgrade_response(std::string_view received, std::string_view expected_accept);

/// The Sec-WebSocket-Accept value for `key`: base64(SHA-1(key + RFC GUID)).
std::string accept_for_key(std::string_view key);

}  // namespace loadgen
