#include "http/forwarded.hpp"

#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "net/header_text.hpp"

namespace peercable::http {

namespace {

using boost::asio::ip::address;

constexpr std::string_view kBad{"\x01", 1};  // stands for an element that is not well formed

using net::iequals;
using net::trim_ows;

bool digits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && end == s.data() + s.size() && v <= 65535;
}

// A node's port: digits, or an obfuscated one ("_abc").
bool port_ok(std::string_view p) { return digits(p) || (p.size() > 1 && p.front() == '_'); }

std::optional<address> plain_address(std::string_view s) {
  // Only the characters an address is written with: no scope ids ("fe80::1%eth0"), no names.
  if (s.empty() || s.size() > 45) return std::nullopt;
  for (char c : s)
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':')) return std::nullopt;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(s), ec);
  if (ec) return std::nullopt;
  return net::unmapped(a);
}

enum class NodeKind { kAddress, kUnknown, kBad };
struct Node {
  NodeKind kind = NodeKind::kBad;
  address addr;
};

// One node as proxies write it: "192.0.2.1", "192.0.2.1:4711", "2001:db8::1", "[2001:db8::1]",
// "[2001:db8::1]:4711", or "unknown" and "_obfuscated" (RFC 7239 §6) for a client the proxy cannot name.
Node parse_node(std::string_view s) {
  Node n;
  if (s.empty()) return n;
  if (iequals(s, "unknown") || s.front() == '_') {
    n.kind = NodeKind::kUnknown;
    return n;
  }
  std::string_view host = s;
  if (s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return n;
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !port_ok(rest.substr(1)))) return n;
    auto a = plain_address(host);
    if (!a || host.find(':') == std::string_view::npos) return n;
    n.kind = NodeKind::kAddress;
    n.addr = *a;
    return n;
  }
  auto colon = s.find(':');
  if (colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos) {
    host = s.substr(0, colon);  // IPv4 with a port
    std::string_view port = s.substr(colon + 1);
    if (!port_ok(port)) return n;
    auto a = plain_address(host);
    if (!a || !a->is_v4()) return n;
    n.kind = NodeKind::kAddress;
    n.addr = *a;
    return n;
  }
  auto a = plain_address(host);
  if (!a) return n;
  n.kind = NodeKind::kAddress;
  n.addr = *a;
  return n;
}

// X-Forwarded-For: addresses separated by commas, over one or more header lines.
void split_x_forwarded_for(std::string_view value, std::vector<std::string_view>& out) {
  for (;;) {
    auto comma = value.find(',');
    out.push_back(trim_ows(value.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

// Forwarded (RFC 7239 §4): elements separated by commas, each a ';' list of name=value pairs, a value a token
// or a quoted string. Pushes the "for" node of each element ("unknown" when it has none, kBad when the
// element cannot be read).
void split_forwarded(std::string_view value, std::vector<std::string_view>& out) {
  std::size_t i = 0;
  const std::size_t n = value.size();
  for (;;) {
    std::string_view node = "unknown";
    bool bad = false;
    for (;;) {  // pairs of one element
      while (i < n && (value[i] == ' ' || value[i] == '\t')) ++i;
      const std::size_t name_start = i;
      while (i < n && value[i] != '=' && value[i] != ';' && value[i] != ',') ++i;
      std::string_view name = trim_ows(value.substr(name_start, i - name_start));
      std::string_view v;
      if (i < n && value[i] == '=') {
        ++i;
        while (i < n && (value[i] == ' ' || value[i] == '\t')) ++i;
        if (i < n && value[i] == '"') {
          const std::size_t start = ++i;
          while (i < n && value[i] != '"' && value[i] != '\\') ++i;
          if (i >= n || value[i] == '\\') return out.push_back(kBad);  // no escapes in a node; unterminated
          v = value.substr(start, i - start);
          ++i;
        } else {
          const std::size_t start = i;
          while (i < n && value[i] != ';' && value[i] != ',') ++i;
          v = trim_ows(value.substr(start, i - start));
        }
        while (i < n && (value[i] == ' ' || value[i] == '\t')) ++i;
      } else if (!name.empty()) {
        bad = true;  // a name without a value
      }
      if (!name.empty() && iequals(name, "for")) node = v;
      if (i < n && value[i] == ';') {
        ++i;
        continue;
      }
      if (i < n && value[i] != ',') bad = true;  // text after a quoted value
      break;
    }
    while (i < n && value[i] != ',') ++i;  // after a bad pair: skip to the element's end
    out.push_back(bad ? kBad : node);
    if (i >= n) return;
    ++i;  // the comma
  }
}

}  // namespace

ForwardedClient forwarded_client(const address& peer, std::span<const std::string_view> values, ForwardedHeader kind,
                                 const net::TrustedProxies& trusted) {
  ForwardedClient r{peer, ForwardedStatus::kUntrustedPeer};
  if (!trusted.contains(peer)) return r;
  r.status = ForwardedStatus::kAbsent;
  if (values.empty()) return r;
  std::vector<std::string_view> nodes;
  for (auto v : values) {
    if (kind == ForwardedHeader::kXForwardedFor)
      split_x_forwarded_for(v, nodes);
    else
      split_forwarded(v, nodes);
  }
  // From the right: hops through our own proxies are skipped; the first other address is the client.
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    Node node = *it == kBad ? Node{} : parse_node(*it);
    if (node.kind != NodeKind::kAddress) {  // even past trusted hops: the peer stands in, as documented
      r.address = peer;
      r.status = node.kind == NodeKind::kBad ? ForwardedStatus::kMalformed : ForwardedStatus::kUnknown;
      return r;
    }
    r.address = node.addr;
    r.status = ForwardedStatus::kFound;
    if (!trusted.contains(node.addr)) return r;
  }
  return r;  // every entry is a trusted proxy: the left-most one is as far as we can see
}

}  // namespace peercable::http
