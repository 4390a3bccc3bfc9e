// The Origin check: modes, the server's own origin, listed origins and subdomain wildcards.
#include "app/origin_policy.hpp"

#include <gtest/gtest.h>

using peercable::app::is_loopback_host;
using peercable::app::OriginPolicy;

TEST(OriginPolicy, AutoIsOffOnLoopbackAndOnElsewhere) {
  EXPECT_FALSE(OriginPolicy("auto", "127.0.0.1", {}).enabled());
  EXPECT_FALSE(OriginPolicy("auto", "localhost", {}).enabled());
  EXPECT_FALSE(OriginPolicy("auto", "::1", {}).enabled());
  EXPECT_TRUE(OriginPolicy("auto", "0.0.0.0", {}).enabled());
  EXPECT_TRUE(OriginPolicy("on", "127.0.0.1", {}).enabled());
  EXPECT_FALSE(OriginPolicy("off", "0.0.0.0", {}).enabled());
}

TEST(OriginPolicy, OffLetsEveryOriginIn) {
  OriginPolicy p("off", "0.0.0.0", {});
  EXPECT_TRUE(p.allows("", "example.com"));
  EXPECT_TRUE(p.allows("https://evil.test", "example.com"));
}

TEST(OriginPolicy, MissingOriginIsRefused) {
  EXPECT_FALSE(OriginPolicy("on", "0.0.0.0", {"*"}).allows("", "example.com"));
}

TEST(OriginPolicy, OwnHostOverEitherSchemeCaseInsensitively) {
  OriginPolicy p("on", "0.0.0.0", {});
  EXPECT_TRUE(p.allows("https://Example.com:8080", "example.COM:8080"));
  EXPECT_TRUE(p.allows("http://example.com:8080", "example.com:8080"));
  EXPECT_FALSE(p.allows("https://example.com", "example.com:8080"));
  EXPECT_FALSE(p.allows("https://other.test", "example.com"));
  EXPECT_FALSE(p.allows("https://", ""));
}

TEST(OriginPolicy, ListedOriginsAndStar) {
  OriginPolicy listed("on", "0.0.0.0", {"https://App.example.com"});
  EXPECT_TRUE(listed.allows("https://app.example.com", "ws.example.com"));
  EXPECT_FALSE(listed.allows("http://app.example.com", "ws.example.com"));
  EXPECT_TRUE(OriginPolicy("on", "0.0.0.0", {"*"}).allows("https://anything.test", "ws.example.com"));
}

TEST(OriginPolicy, SubdomainWildcard) {
  OriginPolicy p("on", "0.0.0.0", {"https://*.example.com"});
  EXPECT_TRUE(p.allows("https://a.example.com", "ws.test"));
  EXPECT_TRUE(p.allows("https://a.b.example.com", "ws.test"));
  EXPECT_FALSE(p.allows("https://example.com", "ws.test"));         // the bare domain is not a subdomain
  EXPECT_FALSE(p.allows("https://.example.com", "ws.test"));        // an empty label
  EXPECT_FALSE(p.allows("http://a.example.com", "ws.test"));        // another scheme
  EXPECT_FALSE(p.allows("https://a.example.com.evil", "ws.test"));  // a suffix elsewhere
  EXPECT_FALSE(p.allows("https://evil/x.example.com", "ws.test"));  // a path, not a host
}

TEST(OriginPolicy, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("127.8.9.10"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("example.com"));
  EXPECT_FALSE(is_loopback_host(""));
}
