#include "net/proxy_protocol.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>

namespace peercable::net {

namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};

ProxyHeader invalid(const char* why) {
  ProxyHeader h;
  h.status = ProxyParse::kInvalid;
  h.error = why;
  return h;
}

// A port as version 1 writes it: decimal, 0-65535.
std::optional<std::uint16_t> v1_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::optional<boost::asio::ip::address> v1_address(std::string_view s, bool v6) {
  // Only the characters an address can hold: make_address would also take scope ids ("fe80::1%eth0").
  if (s.empty() || s.size() > 45) return std::nullopt;
  for (char c : s)
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':')) return std::nullopt;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(s), ec);
  if (ec || a.is_v6() != v6) return std::nullopt;
  return a;
}

// "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n", "PROXY UNKNOWN ...\r\n".
ProxyHeader parse_v1(std::string_view input) {
  const std::size_t end = input.substr(0, kProxyV1MaxBytes).find("\r\n");
  if (end == std::string_view::npos) {
    if (input.size() >= kProxyV1MaxBytes) return invalid("version 1 header longer than 107 bytes");
    // A lone '\n' or a NUL can never become a valid line: give up early.
    if (input.find('\n') != std::string_view::npos || input.find('\0') != std::string_view::npos)
      return invalid("version 1 header not ended by CRLF");
    return {};
  }
  if (input.substr(0, end).find_first_of(std::string_view("\n\0", 2)) != std::string_view::npos)
    return invalid("version 1 header not ended by CRLF");
  std::string_view line = input.substr(kV1Prefix.size(), end - kV1Prefix.size());
  ProxyHeader h;
  h.status = ProxyParse::kDone;
  h.size = end + 2;
  h.version = 1;
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) return h;  // the rest of the line is ignored
  std::array<std::string_view, 5> f;
  std::size_t n = 0;
  while (n < f.size()) {
    auto sp = line.find(' ');
    f[n++] = line.substr(0, sp);
    if (sp == std::string_view::npos) {
      line = {};
      break;
    }
    line.remove_prefix(sp + 1);
  }
  if (n != 5 || !line.empty()) return invalid("version 1 header needs protocol, two addresses and two ports");
  bool v6;
  if (f[0] == "TCP4")
    v6 = false;
  else if (f[0] == "TCP6")
    v6 = true;
  else
    return invalid("version 1 protocol is not TCP4, TCP6 or UNKNOWN");
  auto src = v1_address(f[1], v6);
  auto dst = v1_address(f[2], v6);
  auto sport = v1_port(f[3]);
  auto dport = v1_port(f[4]);
  if (!src || !dst) return invalid("version 1 address does not match its protocol");
  if (!sport || !dport) return invalid("version 1 port is not 0-65535");
  h.source = *src;
  h.source_port = *sport;
  return h;
}

std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

ProxyHeader parse_v2(std::string_view input) {
  if (input.size() < 16) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(input.data());
  const unsigned version = p[12] >> 4;
  const unsigned command = p[12] & 0x0F;
  const unsigned family = p[13] >> 4;
  const unsigned transport = p[13] & 0x0F;
  const std::size_t length = be16(p + 14);
  if (version != 2) return invalid("version 2 signature with another version");
  if (command > 1) return invalid("version 2 command is neither LOCAL nor PROXY");
  if (16 + length > kProxyV2MaxBytes) return invalid("version 2 header longer than the bound");
  if (input.size() < 16 + length) return {};
  ProxyHeader h;
  h.status = ProxyParse::kDone;
  h.size = 16 + length;
  h.version = 2;
  if (command == 0) return h;  // LOCAL: the balancer's own connection
  if (family > 3 || transport > 2) return invalid("version 2 family or transport unknown");
  const unsigned char* a = p + 16;
  if (family == 1) {  // INET: source, destination, source port, destination port
    if (length < 12) return invalid("version 2 IPv4 addresses cut short");
    h.source = boost::asio::ip::address_v4({a[0], a[1], a[2], a[3]});
    h.source_port = be16(a + 8);
  } else if (family == 2) {  // INET6
    if (length < 36) return invalid("version 2 IPv6 addresses cut short");
    boost::asio::ip::address_v6::bytes_type b;
    std::copy(a, a + 16, b.begin());
    h.source = boost::asio::ip::address_v6(b);
    h.source_port = be16(a + 32);
  } else if (family == 3 && length < 216) {
    return invalid("version 2 unix addresses cut short");
  }
  // UNSPEC and UNIX: no client address to use; the connection stands for itself.
  return h;
}

}  // namespace

ProxyHeader parse_proxy_header(std::string_view input) {
  // Decide as early as the bytes allow, so a client that is not a load balancer is refused at once.
  const std::size_t v1 = std::min(input.size(), kV1Prefix.size());
  if (input.substr(0, v1) == kV1Prefix.substr(0, v1)) {
    if (input.size() < kV1Prefix.size()) return {};
    return parse_v1(input);
  }
  const std::size_t v2 = std::min(input.size(), kV2Signature.size());
  if (input.substr(0, v2) == kV2Signature.substr(0, v2)) {
    if (input.size() < kV2Signature.size()) return {};
    return parse_v2(input);
  }
  return invalid("no PROXY protocol header");
}

}  // namespace peercable::net
