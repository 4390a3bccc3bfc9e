#include "ws/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "net/header_text.hpp"

namespace peercable::ws {
namespace {

using net::iequals;
using net::trim_ows;

// RFC 6455 §4.1: the key is base64 of exactly 16 bytes, i.e. 22 base64 characters and "==".
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i) {
    char c = key[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!ok) return false;
  }
  // The last character before the padding carries only 2 significant bits.
  static constexpr std::string_view kLast = "AQgw";
  return kLast.find(key[21]) != std::string_view::npos;
}

}  // namespace

bool header_has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    auto comma = list.find(',');
    if (iequals(trim_ows(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool wants_websocket(std::string_view upgrade_header) {
  return header_has_token(upgrade_header, "websocket");
}

std::string compute_accept_key(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string in(key);
  in.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char out[32];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

HandshakeResult accept_upgrade(const UpgradeRequest& req, const SubprotocolSelector& select, bool allow_deflate,
                               const DeflateOptions& deflate) {
  HandshakeResult r;
  if (req.method != "GET") {
    r.error = {405, "WebSocket upgrade requires GET", "Allow: GET"};
    return r;
  }
  if (req.http_version < 11) {
    r.error = {400, "WebSocket upgrade requires HTTP/1.1", ""};
    return r;
  }
  if (!wants_websocket(req.upgrade)) {
    r.error = {400, "Upgrade header must be websocket", ""};
    return r;
  }
  if (!header_has_token(req.connection, "upgrade")) {
    r.error = {400, "Connection header must contain Upgrade", ""};
    return r;
  }
  if (trim_ows(req.version) != "13") {
    r.error = {426, "Unsupported WebSocket version; use 13", "Sec-WebSocket-Version: 13"};
    return r;
  }
  if (!valid_key(trim_ows(req.key))) {
    r.error = {400, "Missing or invalid Sec-WebSocket-Key", ""};
    return r;
  }
  HandshakeAccept a;
  a.accept_key = compute_accept_key(trim_ows(req.key));
  if (select) {
    std::vector<std::string_view> offered;
    std::string_view list = req.protocols;
    while (!list.empty()) {
      auto comma = list.find(',');
      auto item = trim_ows(list.substr(0, comma));
      if (!item.empty()) offered.push_back(item);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    a.subprotocol = select(offered);
  }
  if (allow_deflate && !req.extensions.empty()) a.deflate = negotiate_deflate(req.extensions, deflate);
  r.accept = std::move(a);
  return r;
}

std::string upgrade_response(const HandshakeAccept& a) {
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
  out += a.accept_key;
  out += "\r\n";
  if (!a.subprotocol.empty()) out += "Sec-WebSocket-Protocol: " + a.subprotocol + "\r\n";
  if (a.deflate) out += "Sec-WebSocket-Extensions: " + deflate_response(*a.deflate) + "\r\n";
  out += "\r\n";
  return out;
}

}  // namespace peercable::ws
