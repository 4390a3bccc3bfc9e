#include "handshake.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <random>

#include "text.hpp"

namespace loadgen {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::size_t kMaxResponseHead = 8192;

std::string base64(const unsigned char* data, int len) {
  std::string out(static_cast<std::size_t>(4 * ((len + 2) / 3)), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, len);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

HandshakeResult reject(std::string why) {
  HandshakeResult r;
  r.status = HandshakeStatus::rejected;
  r.reason = std::move(why);
  return r;
}

}  // namespace

std::string accept_for_key(std::string_view key) {
  std::string input(key);
  input += kGuid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr);
  return base64(digest, static_cast<int>(digest_len));
}

UpgradeRequest make_upgrade_request(std::string_view host_header, std::string_view path, bool offer_deflate,
                                    CableProtocol protocol) {
  unsigned char nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) {
    // The key only has to be unique per connection; fall back to the standard generator.
    static std::mt19937_64 gen{std::random_device{}()};
    for (auto& b : nonce) b = static_cast<unsigned char>(gen());
  }
  const std::string key = base64(nonce, sizeof nonce);

  UpgradeRequest req;
  req.bytes.reserve(256 + path.size());
  req.bytes.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_header);
  req.bytes.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n");
  req.bytes.append("Sec-WebSocket-Key: ").append(key);
  req.bytes.append("\r\nSec-WebSocket-Protocol: ").append(subprotocol_name(protocol));
  if (protocol == CableProtocol::plain) req.bytes.append(", actioncable-unsupported");
  req.bytes.append("\r\n");
  if (offer_deflate) req.bytes.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
  req.bytes.append("Origin: http://").append(host_header).append("\r\n\r\n");
  req.expected_accept = accept_for_key(key);
  return req;
}

HandshakeResult check_upgrade_response(std::string_view received, std::string_view expected_accept,
                                       bool offered_deflate, CableProtocol protocol) {
  const auto end = received.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (received.size() > kMaxResponseHead) return reject("response head too large");
    return {};
  }
  std::string_view head = received.substr(0, end + 2);
  const auto first_eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, first_eol);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line.substr(9, 3) != "101")
    return reject("status: " + std::string(status_line));

  bool upgrade = false, connection = false, accept_ok = false, protocol_ok = false;
  std::string selected = "(none)";
  std::string extensions;
  std::size_t pos = first_eol + 2;
  while (pos < head.size()) {
    const auto eol = head.find("\r\n", pos);
    const std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "upgrade"))
      upgrade = iequals(value, "websocket");
    else if (iequals(name, "connection"))
      connection = icontains(value, "upgrade");
    else if (iequals(name, "sec-websocket-accept"))
      accept_ok = value == expected_accept;
    else if (iequals(name, "sec-websocket-protocol")) {
      selected = std::string(value);
      protocol_ok = value == subprotocol_name(protocol);
    } else if (iequals(name, "sec-websocket-extensions")) {
      // Several header lines are one comma-separated list (RFC 7230 §3.2.2).
      if (!extensions.empty()) extensions += ", ";
      extensions += value;
    }
  }
  if (!upgrade || !connection) return reject("missing Upgrade/Connection headers");
  if (!accept_ok) return reject("wrong Sec-WebSocket-Accept");
  if (!protocol_ok) return reject("subprotocol not selected: " + selected);
  ExtensionCheck ext = check_extensions_response(extensions, offered_deflate);
  if (!ext.ok) return reject("Sec-WebSocket-Extensions: " + ext.error);
  return HandshakeResult{HandshakeStatus::accepted, end + 4, {}, ext.deflate, std::move(extensions)};
}

}  // namespace loadgen
