// The client side of the WebSocket opening handshake (RFC 6455 §4.1) for the Action Cable subprotocol.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cable_message.hpp"
#include "inflate.hpp"

namespace loadgen {

/// A request ready to send and the Sec-WebSocket-Accept value the server must answer with.
struct UpgradeRequest {
  std::string bytes;
  std::string expected_accept;
};

/// Builds the GET upgrade request for `path` on `host_header` with a fresh random Sec-WebSocket-Key,
/// offering the Action Cable subprotocols the way @rails/actioncable does, or for `CableProtocol::ext`
/// `actioncable-v1-ext-json` alone, as @anycable/web does; with `offer_deflate`, also
/// `permessage-deflate; client_max_window_bits`, as Chromium does.
UpgradeRequest make_upgrade_request(std::string_view host_header, std::string_view path, bool offer_deflate = false,
                                    CableProtocol protocol = CableProtocol::plain);

enum class HandshakeStatus { incomplete, accepted, rejected };

/// Result of looking at the bytes received so far.
struct HandshakeResult {
  HandshakeStatus status = HandshakeStatus::incomplete;
  std::size_t header_bytes = 0;  ///< length of the response head when accepted (frames may follow)
  std::string reason;            ///< why it was rejected
  std::optional<DeflateAgreement> deflate;  ///< permessage-deflate as agreed, when accepted with it
  std::string extensions;                   ///< the Sec-WebSocket-Extensions value, as received
};

/// Checks the server's response: 101, Upgrade/Connection, the accept key and the selected subprotocol
/// (`protocol`'s; a server that selects none is rejected, as browsers and strict clients do) and the
/// extensions (only permessage-deflate, only when `offered_deflate`, with valid RFC 7692 parameters).
HandshakeResult check_upgrade_response(std::string_view received, std::string_view expected_accept,
                                       bool offered_deflate = false, CableProtocol protocol = CableProtocol::plain);

/// The Sec-WebSocket-Accept value for `key`: base64(SHA-1(key + RFC GUID)).
std::string accept_for_key(std::string_view key);

}  // namespace loadgen
