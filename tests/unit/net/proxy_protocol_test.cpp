#include "net/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace peercable::net;

namespace {

std::string v2(unsigned char ver_cmd, unsigned char fam, const std::string& body) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += static_cast<char>(ver_cmd);
  h += static_cast<char>(fam);
  h += static_cast<char>(body.size() >> 8);
  h += static_cast<char>(body.size() & 0xFF);
  return h + body;
}

std::string inet4_body() {
  // 192.0.2.1:56324 -> 198.51.100.7:443
  return std::string("\xC0\x00\x02\x01\xC6\x33\x64\x07\xDC\x04\x01\xBB", 12);
}

}  // namespace

TEST(ProxyProtocol, V1Tcp4) {
  const std::string in = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nGET / HTTP/1.1\r\n";
  auto h = parse_proxy_header(in);
  ASSERT_EQ(h.status, ProxyParse::kDone);
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.size, in.find("GET"));
  ASSERT_TRUE(h.source);
  EXPECT_EQ(h.source->to_string(), "192.0.2.1");
  EXPECT_EQ(h.source_port, 56324);
}

TEST(ProxyProtocol, V1Tcp6) {
  auto h = parse_proxy_header("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n");
  ASSERT_EQ(h.status, ProxyParse::kDone);
  ASSERT_TRUE(h.source);
  EXPECT_EQ(h.source->to_string(), "2001:db8::1");
  EXPECT_EQ(h.source_port, 1);
}

TEST(ProxyProtocol, V1UnknownNamesNoClient) {
  auto h = parse_proxy_header("PROXY UNKNOWN\r\n");
  ASSERT_EQ(h.status, ProxyParse::kDone);
  EXPECT_FALSE(h.source);
  h = parse_proxy_header("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n");
  ASSERT_EQ(h.status, ProxyParse::kDone);
  EXPECT_FALSE(h.source);
}

TEST(ProxyProtocol, V1IncrementalByteByByte) {
  const std::string in = "PROXY TCP4 10.1.2.3 10.0.0.1 1234 80\r\n";
  for (std::size_t n = 0; n < in.size(); ++n)
    EXPECT_EQ(parse_proxy_header(in.substr(0, n)).status, ProxyParse::kNeedMore) << n;
  auto h = parse_proxy_header(in);
  ASSERT_EQ(h.status, ProxyParse::kDone);
  EXPECT_EQ(h.source->to_string(), "10.1.2.3");
}

TEST(ProxyProtocol, V1Malformed) {
  for (const char* bad : {"PROXY TCP4 10.1.2.3 10.0.0.1 1234\r\n", "PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",
                          "PROXY TCP6 10.1.2.3 10.0.0.1 1 2\r\n", "PROXY TCP4 10.1.2.3 10.0.0.1 65536 80\r\n",
                          "PROXY TCP4 10.1.2.3 10.0.0.1 1 2 3\r\n", "PROXY TCP4  10.1.2.3 10.0.0.1 1 2\r\n",
                          "PROXY UDP4 10.1.2.3 10.0.0.1 1 2\r\n", "PROXY TCP4 host 10.0.0.1 1 2\r\n",
                          "PROXY TCP4 10.1.2.3 10.0.0.1 -1 2\r\n", "PROXY TCP4 10.1.2.3 10.0.0.1 1 2\n",
                          "PROXY TCP6 fe80::1%eth0 fe80::2 1 2\r\n"})
    EXPECT_EQ(parse_proxy_header(bad).status, ProxyParse::kInvalid) << bad;
}

TEST(ProxyProtocol, V1BoundedAt107Bytes) {
  std::string longest = "PROXY UNKNOWN " + std::string(107 - 16, 'x') + "\r\n";
  ASSERT_EQ(longest.size(), 107u);
  EXPECT_EQ(parse_proxy_header(longest).status, ProxyParse::kDone);
  std::string over = "PROXY UNKNOWN " + std::string(200, 'x');
  EXPECT_EQ(parse_proxy_header(over.substr(0, 106)).status, ProxyParse::kNeedMore);
  EXPECT_EQ(parse_proxy_header(over.substr(0, 107)).status, ProxyParse::kInvalid);
  EXPECT_EQ(parse_proxy_header(over).status, ProxyParse::kInvalid);
}

TEST(ProxyProtocol, NotAHeaderIsRefusedAtTheFirstDifferentByte) {
  EXPECT_EQ(parse_proxy_header("G").status, ProxyParse::kInvalid);
  EXPECT_EQ(parse_proxy_header("GET / HTTP/1.1\r\n").status, ProxyParse::kInvalid);
  EXPECT_EQ(parse_proxy_header("PROXX").status, ProxyParse::kInvalid);
  EXPECT_EQ(parse_proxy_header(std::string("\x16\x03\x01", 3)).status, ProxyParse::kInvalid);  // TLS hello
  EXPECT_EQ(parse_proxy_header("").status, ProxyParse::kNeedMore);
  EXPECT_EQ(parse_proxy_header("PRO").status, ProxyParse::kNeedMore);
  EXPECT_EQ(parse_proxy_header(std::string("\r\n\r\n\0", 5)).status, ProxyParse::kNeedMore);
}

TEST(ProxyProtocol, V2Inet) {
  const std::string in = v2(0x21, 0x11, inet4_body()) + "payload";
  for (std::size_t n = 0; n < in.size() - 7; ++n)
    EXPECT_EQ(parse_proxy_header(in.substr(0, n)).status, ProxyParse::kNeedMore) << n;
  auto h = parse_proxy_header(in);
  ASSERT_EQ(h.status, ProxyParse::kDone);
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.size, in.size() - 7);
  ASSERT_TRUE(h.source);
  EXPECT_EQ(h.source->to_string(), "192.0.2.1");
  EXPECT_EQ(h.source_port, 56324);
}

TEST(ProxyProtocol, V2Inet6WithTlvs) {
  std::string body(36, '\0');
  body[0] = '\x20';
  body[1] = '\x01';
  body[2] = '\x0d';
  body[3] = '\xb8';
  body[15] = '\x09';
  body[32] = '\x00';
  body[33] = '\x50';
  body += std::string("\x04\x00\x03" "abc", 6);  // a TLV (NOOP) after the addresses is skipped
  auto h = parse_proxy_header(v2(0x21, 0x21, body));
  ASSERT_EQ(h.status, ProxyParse::kDone);
  ASSERT_TRUE(h.source);
  EXPECT_EQ(h.source->to_string(), "2001:db8::9");
  EXPECT_EQ(h.source_port, 80);
}

TEST(ProxyProtocol, V2LocalAndUnspecNameNoClient) {
  auto local = parse_proxy_header(v2(0x20, 0x00, ""));
  ASSERT_EQ(local.status, ProxyParse::kDone);
  EXPECT_FALSE(local.source);
  auto local_with_addr = parse_proxy_header(v2(0x20, 0x11, inet4_body()));
  ASSERT_EQ(local_with_addr.status, ProxyParse::kDone);
  EXPECT_FALSE(local_with_addr.source);  // LOCAL: the addresses are not the client's
  auto unspec = parse_proxy_header(v2(0x21, 0x00, ""));
  ASSERT_EQ(unspec.status, ProxyParse::kDone);
  EXPECT_FALSE(unspec.source);
  auto unix_socket = parse_proxy_header(v2(0x21, 0x31, std::string(216, 'u')));
  ASSERT_EQ(unix_socket.status, ProxyParse::kDone);
  EXPECT_FALSE(unix_socket.source);
}

TEST(ProxyProtocol, V2Malformed) {
  EXPECT_EQ(parse_proxy_header(v2(0x11, 0x11, inet4_body())).status, ProxyParse::kInvalid);  // version 1
  EXPECT_EQ(parse_proxy_header(v2(0x22, 0x11, inet4_body())).status, ProxyParse::kInvalid);  // command 2
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, "short")).status, ProxyParse::kInvalid);
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x21, inet4_body())).status, ProxyParse::kInvalid);  // IPv6, 12 bytes
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x41, inet4_body())).status, ProxyParse::kInvalid);  // family 4
}

TEST(ProxyProtocol, V2BoundedLength) {
  std::string head = v2(0x21, 0x11, "");
  head[14] = '\xFF';
  head[15] = '\xFF';  // 65535 bytes announced: refused before they are read
  EXPECT_EQ(parse_proxy_header(head).status, ProxyParse::kInvalid);
  auto fits = parse_proxy_header(v2(0x21, 0x11, inet4_body() + std::string(kProxyV2MaxBytes - 16 - 12, '\0')));
  EXPECT_EQ(fits.status, ProxyParse::kDone);
}
