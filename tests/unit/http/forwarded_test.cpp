#include "http/forwarded.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace peercable;
using http::ForwardedHeader;
using http::ForwardedStatus;
namespace ip = boost::asio::ip;

namespace {

net::TrustedProxies trust(std::string_view list) {
  std::string error;
  return net::TrustedProxies::parse(list, error).value();
}

http::ForwardedClient xff(std::string_view peer, std::vector<std::string_view> values,
                          std::string_view trusted = "10.0.0.0/8") {
  return http::forwarded_client(ip::make_address(std::string(peer)), values, ForwardedHeader::kXForwardedFor,
                                trust(trusted));
}

http::ForwardedClient fwd(std::string_view peer, std::vector<std::string_view> values,
                          std::string_view trusted = "10.0.0.0/8") {
  return http::forwarded_client(ip::make_address(std::string(peer)), values, ForwardedHeader::kForwarded,
                                trust(trusted));
}

}  // namespace

TEST(Forwarded, UntrustedPeerIsNeverBelieved) {
  auto r = xff("203.0.113.5", {"198.51.100.1"});
  EXPECT_EQ(r.status, ForwardedStatus::kUntrustedPeer);
  EXPECT_EQ(r.address.to_string(), "203.0.113.5");
  r = xff("10.0.0.1", {"198.51.100.1"}, "");  // nobody trusted by default
  EXPECT_EQ(r.status, ForwardedStatus::kUntrustedPeer);
  EXPECT_EQ(r.address.to_string(), "10.0.0.1");
}

TEST(Forwarded, NoHeaderMeansThePeer) {
  auto r = xff("10.0.0.1", {});
  EXPECT_EQ(r.status, ForwardedStatus::kAbsent);
  EXPECT_EQ(r.address.to_string(), "10.0.0.1");
}

TEST(Forwarded, RightMostUntrustedIsTheClient) {
  EXPECT_EQ(xff("10.0.0.1", {"198.51.100.1"}).address.to_string(), "198.51.100.1");
  // The client wrote "1.2.3.4" itself; our proxy appended what it saw.
  auto r = xff("10.0.0.1", {"1.2.3.4, 198.51.100.1"});
  EXPECT_EQ(r.status, ForwardedStatus::kFound);
  EXPECT_EQ(r.address.to_string(), "198.51.100.1");
  // Two trusted hops: the inner proxy's entry is skipped.
  EXPECT_EQ(xff("10.0.0.1", {"1.2.3.4, 198.51.100.1, 10.0.0.9"}).address.to_string(), "198.51.100.1");
  // Several header lines read as one list, in order.
  EXPECT_EQ(xff("10.0.0.1", {"1.2.3.4", "198.51.100.1 ,10.0.0.9"}).address.to_string(), "198.51.100.1");
}

TEST(Forwarded, GarbageLeftOfTheClientIsIgnored) {
  auto r = xff("10.0.0.1", {"not an address, <script>, 198.51.100.1"});
  EXPECT_EQ(r.status, ForwardedStatus::kFound);
  EXPECT_EQ(r.address.to_string(), "198.51.100.1");
}

TEST(Forwarded, AllTrustedGivesTheLeftMost) {
  auto r = xff("10.0.0.1", {"10.0.0.3, 10.0.0.2"});
  EXPECT_EQ(r.status, ForwardedStatus::kFound);
  EXPECT_EQ(r.address.to_string(), "10.0.0.3");
}

TEST(Forwarded, PortsBracketsAndIpv6) {
  EXPECT_EQ(xff("10.0.0.1", {"198.51.100.1:4711"}).address.to_string(), "198.51.100.1");
  EXPECT_EQ(xff("10.0.0.1", {"2001:db8::7"}).address.to_string(), "2001:db8::7");
  EXPECT_EQ(xff("10.0.0.1", {"[2001:db8::7]:443"}).address.to_string(), "2001:db8::7");
  EXPECT_EQ(xff("10.0.0.1", {"::ffff:198.51.100.1"}).address.to_string(), "198.51.100.1");
  EXPECT_EQ(xff("::ffff:10.0.0.1", {"198.51.100.1"}).address.to_string(), "198.51.100.1");
}

TEST(Forwarded, MalformedFallsBackToThePeer) {
  for (std::string_view bad : {"198.51.100.1, bogus", "198.51.100.1,", "", "1.2.3.4:99999", "[1.2.3.4]",
                               "fe80::1%eth0", "[2001:db8::1", "2001:db8::1]:80", "1.2.3.4:"}) {
    auto r = xff("10.0.0.1", {bad});
    EXPECT_EQ(r.status, ForwardedStatus::kMalformed) << bad;
    EXPECT_EQ(r.address.to_string(), "10.0.0.1") << bad;
  }
}

TEST(Forwarded, MalformedPastTrustedHopsFallsBackToThePeer) {
  auto r = xff("10.0.0.1", {"bogus, 10.0.0.7"});
  EXPECT_EQ(r.status, ForwardedStatus::kMalformed);
  EXPECT_EQ(r.address.to_string(), "10.0.0.1");
  r = fwd("10.0.0.1", {"[2001:db8::7]:443", "for=\"10.0.0.9:4711\""});  // found by fuzzing
  EXPECT_EQ(r.status, ForwardedStatus::kMalformed);
  EXPECT_EQ(r.address.to_string(), "10.0.0.1");
  r = xff("10.0.0.1", {"unknown, 10.0.0.7"});
  EXPECT_EQ(r.status, ForwardedStatus::kUnknown);
  EXPECT_EQ(r.address.to_string(), "10.0.0.1");
}

TEST(Forwarded, UnknownFallsBackToThePeer) {
  auto r = xff("10.0.0.1", {"198.51.100.1, unknown"});
  EXPECT_EQ(r.status, ForwardedStatus::kUnknown);
  EXPECT_EQ(r.address.to_string(), "10.0.0.1");
}

TEST(Forwarded, Rfc7239Elements) {
  EXPECT_EQ(fwd("10.0.0.1", {"for=198.51.100.1"}).address.to_string(), "198.51.100.1");
  EXPECT_EQ(fwd("10.0.0.1", {"For=\"[2001:db8:cafe::17]:4711\""}).address.to_string(), "2001:db8:cafe::17");
  EXPECT_EQ(fwd("10.0.0.1", {"for=192.0.2.60;proto=http;by=203.0.113.43"}).address.to_string(), "192.0.2.60");
  auto r = fwd("10.0.0.1", {"for=1.2.3.4, for=198.51.100.1;proto=https, for=\"10.0.0.7:80\""});
  EXPECT_EQ(r.status, ForwardedStatus::kFound);
  EXPECT_EQ(r.address.to_string(), "198.51.100.1");
  EXPECT_EQ(fwd("10.0.0.1", {"for=1.2.3.4", "for=198.51.100.1"}).address.to_string(), "198.51.100.1");
  // A comma inside a quoted value does not split elements.
  EXPECT_EQ(fwd("10.0.0.1", {"for=1.2.3.4;host=\"a,b\", for=198.51.100.2"}).address.to_string(), "198.51.100.2");
}

TEST(Forwarded, Rfc7239UnknownAndObfuscated) {
  EXPECT_EQ(fwd("10.0.0.1", {"for=unknown"}).status, ForwardedStatus::kUnknown);
  EXPECT_EQ(fwd("10.0.0.1", {"for=_hidden"}).status, ForwardedStatus::kUnknown);
  EXPECT_EQ(fwd("10.0.0.1", {"proto=https"}).status, ForwardedStatus::kUnknown);  // no "for": not known
}

TEST(Forwarded, Rfc7239Malformed) {
  for (std::string_view bad : {"for=\"198.51.100.1", "for=\"1.2.3.4\"x", "for", "for=\"[::1\\]\"", "for=bogus"}) {
    auto r = fwd("10.0.0.1", {bad});
    EXPECT_EQ(r.status, ForwardedStatus::kMalformed) << bad;
    EXPECT_EQ(r.address.to_string(), "10.0.0.1") << bad;
  }
}
