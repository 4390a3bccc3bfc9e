#include "net/trusted_proxies.hpp"

#include <gtest/gtest.h>

using namespace peercable::net;
namespace ip = boost::asio::ip;

namespace {
TrustedProxies parse_ok(std::string_view list) {
  std::string error;
  auto t = TrustedProxies::parse(list, error);
  EXPECT_TRUE(t) << error;
  return t.value_or(TrustedProxies{});
}
}  // namespace

TEST(TrustedProxies, EmptyTrustsNobody) {
  auto t = parse_ok("");
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.contains(ip::make_address("127.0.0.1")));
}

TEST(TrustedProxies, AddressesAndBlocks) {
  auto t = parse_ok(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32, ::1, 172.16.0.0/12");
  EXPECT_EQ(t.size(), 5u);
  EXPECT_TRUE(t.contains(ip::make_address("10.255.1.2")));
  EXPECT_FALSE(t.contains(ip::make_address("11.0.0.1")));
  EXPECT_TRUE(t.contains(ip::make_address("192.0.2.7")));
  EXPECT_FALSE(t.contains(ip::make_address("192.0.2.8")));
  EXPECT_TRUE(t.contains(ip::make_address("2001:db8:ffff::1")));
  EXPECT_FALSE(t.contains(ip::make_address("2001:db9::1")));
  EXPECT_TRUE(t.contains(ip::make_address("::1")));
  EXPECT_TRUE(t.contains(ip::make_address("172.31.255.255")));
  EXPECT_FALSE(t.contains(ip::make_address("172.32.0.0")));
  EXPECT_TRUE(t.contains(ip::make_address("::ffff:10.1.1.1")));  // IPv4-mapped counts as IPv4
  EXPECT_FALSE(t.contains(ip::make_address("::ffff:11.1.1.1")));
}

TEST(TrustedProxies, PrefixZeroAndOddPrefixes) {
  auto all = parse_ok("0.0.0.0/0");
  EXPECT_TRUE(all.contains(ip::make_address("203.0.113.9")));
  EXPECT_FALSE(all.contains(ip::make_address("2001:db8::1")));  // families never mix
  auto odd = parse_ok("192.0.2.128/25");
  EXPECT_TRUE(odd.contains(ip::make_address("192.0.2.200")));
  EXPECT_FALSE(odd.contains(ip::make_address("192.0.2.100")));
}

TEST(TrustedProxies, BadEntriesAreErrors) {
  for (const char* bad : {"10.0.0.0/33", "::1/129", "nginx.local", "10.0.0.0/", "10.0.0.0/x", "10.0.0.1/8/8",
                          "1.2.3.4, bogus"}) {
    std::string error;
    EXPECT_FALSE(TrustedProxies::parse(bad, error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}
