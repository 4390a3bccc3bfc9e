#include "net/ip_limits.hpp"

#include <gtest/gtest.h>

using namespace peercable::net;
using namespace std::chrono_literals;
namespace ip = boost::asio::ip;

TEST(IpLimits, OpenConnectionsPerAddress) {
  auto limits = std::make_shared<IpLimits>(2, 0);
  auto a = ip::make_address("10.0.0.1");
  auto t = IpLimits::Clock::now();
  auto first = limits->admit(a, t);
  auto second = limits->admit(a, t);
  ASSERT_TRUE(first.lease && second.lease);
  auto third = limits->admit(a, t);
  EXPECT_FALSE(third.lease);
  EXPECT_EQ(third.refused, Limit::kConnectionsPerIp);
  EXPECT_TRUE(limits->admit(ip::make_address("10.0.0.2"), t).lease);  // another address is unaffected
  first.lease.reset();                                                   // closing one frees its slot
  EXPECT_TRUE(limits->admit(a, t).lease);
}

TEST(IpLimits, NewConnectionsPerSecond) {
  auto limits = std::make_shared<IpLimits>(0, 3);
  auto a = ip::make_address("10.0.0.1");
  auto t = IpLimits::Clock::now();
  std::vector<std::unique_ptr<IpLimits::Lease>> held;
  for (int i = 0; i < 3; ++i) held.push_back(limits->admit(a, t).lease);
  for (auto& l : held) EXPECT_TRUE(l);
  auto over = limits->admit(a, t + 10ms);
  EXPECT_EQ(over.refused, Limit::kNewConnectionsPerIp);
  EXPECT_TRUE(limits->admit(a, t + 400ms).lease);  // 1.2 tokens back after 0.4 s
  EXPECT_FALSE(limits->admit(a, t + 410ms).lease);
  EXPECT_TRUE(limits->admit(ip::make_address("10.0.0.9"), t).lease);
}

TEST(IpLimits, TakePerMinuteAndSweep) {
  auto limits = std::make_shared<IpLimits>(0, 2, std::chrono::seconds(60));
  auto a = ip::make_address("192.0.2.7");
  auto t = IpLimits::Clock::now();
  EXPECT_TRUE(limits->take(a, t));
  EXPECT_TRUE(limits->take(a, t));
  EXPECT_FALSE(limits->take(a, t + 20s));  // 0.67 of a token back
  EXPECT_TRUE(limits->take(a, t + 31s));
  EXPECT_EQ(limits->tracked(), 1u);
  limits->sweep(t + 200s);
  EXPECT_EQ(limits->tracked(), 0u);
}

TEST(IpLimits, Ipv6GroupedBySlash64AndMappedV4) {
  auto limits = std::make_shared<IpLimits>(1, 0);
  auto t = IpLimits::Clock::now();
  auto held = limits->admit(ip::make_address("2001:db8:1:2::1"), t);
  ASSERT_TRUE(held.lease);
  EXPECT_FALSE(limits->admit(ip::make_address("2001:db8:1:2::ffff"), t).lease);
  EXPECT_TRUE(limits->admit(ip::make_address("2001:db8:1:3::1"), t).lease);
  auto v4 = limits->admit(ip::make_address("10.1.1.1"), t);
  ASSERT_TRUE(v4.lease);
  EXPECT_FALSE(limits->admit(ip::make_address("::ffff:10.1.1.1"), t).lease);
}
