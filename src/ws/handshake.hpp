#pragma once
// The server side of the RFC 6455 §4.2 opening handshake, as a pure function of the request's headers.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ws/deflate.hpp"

namespace peercable::ws {

/// The parts of an HTTP request that the handshake looks at.
struct UpgradeRequest {
  std::string_view method;
  unsigned http_version = 11;  // 11 for HTTP/1.1
  std::string_view upgrade;
  std::string_view connection;
  std::string_view key;
  std::string_view version;
  std::string_view protocols;   // Sec-WebSocket-Protocol, comma-separated
  std::string_view extensions;  // Sec-WebSocket-Extensions
};

/// Chooses one of the offered subprotocols, or none (empty string).
using SubprotocolSelector = std::function<std::string(const std::vector<std::string_view>& offered)>;

/// A refused handshake: the HTTP status and any extra header to send.
struct HandshakeError {
  unsigned status;
  std::string message;
  std::string extra_header;  // e.g. "Sec-WebSocket-Version: 13"
};

/// An accepted handshake: what the 101 response carries.
struct HandshakeAccept {
  std::string accept_key;
  std::string subprotocol;               // empty: no Sec-WebSocket-Protocol header
  std::optional<DeflateParams> deflate;  // set when permessage-deflate was agreed
};

struct HandshakeResult {
  std::optional<HandshakeAccept> accept;
  HandshakeError error{400, "", ""};
};

/// True when the request asks to become a WebSocket (an Upgrade header naming "websocket").
bool wants_websocket(std::string_view upgrade_header);

/// Validates an upgrade request and negotiates subprotocol and compression (fitted to `deflate`).
HandshakeResult accept_upgrade(const UpgradeRequest& req, const SubprotocolSelector& select, bool allow_deflate,
                               const DeflateOptions& deflate = {});

/// base64(SHA-1(key + RFC 6455 GUID)).
std::string compute_accept_key(std::string_view key);

/// Serialises the 101 Switching Protocols response.
std::string upgrade_response(const HandshakeAccept& a);

/// True when the comma-separated header `list` contains `token` (case-insensitive).
bool header_has_token(std::string_view list, std::string_view token);

}  // namespace peercable::ws
