#include "auth/http_hook_settings.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using namespace peercable::auth;

TEST(HookUrl, ParsesHostPortAndTarget) {
  std::string error;
  auto u = parse_hook_url("http://app.internal:3000/cable/auth?x=1", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "app.internal");
  EXPECT_EQ(u->port, 3000);
  EXPECT_EQ(u->target, "/cable/auth?x=1");
  EXPECT_EQ(u->authority(), "app.internal:3000");

  u = parse_hook_url("HTTP://127.0.0.1", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->authority(), "127.0.0.1");

  u = parse_hook_url("http://[::1]:8080?who", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->target, "/?who");
  EXPECT_EQ(u->authority(), "[::1]:8080");
}

TEST(HookUrl, RefusesWhatItCannotUse) {
  for (const char* bad :
       {"https://app/auth", "ftp://app/", "app:3000/auth", "", "http://", "http://:80/", "http://app:0/",
        "http://app:65536/", "http://app:x/", "http://app:/", "http://u:p@app/", "http://app/a#frag", "http://app/a b",
        "http://[::1/", "http://[nope]/", "http://ap p/", "http://[::1]x/"}) {
    std::string error;
    EXPECT_FALSE(parse_hook_url(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  std::string error;
  parse_hook_url("https://app/auth", error);
  EXPECT_NE(error.find("https is not supported"), std::string::npos);
}

TEST(HookHeaders, LowerCasesAndDeduplicates) {
  std::string error;
  auto names = parse_hook_headers(" Cookie, authorization ,X-Tenant,,cookie", error);
  ASSERT_TRUE(names) << error;
  EXPECT_EQ(*names, (std::vector<std::string>{"cookie", "authorization", "x-tenant"}));
}

TEST(HookHeaders, RefusesReservedAndBadNames) {
  for (const char* bad : {"", " , ", "cookie,host", "X-Forwarded-For", "content-length", "coo kie", "a:b"}) {
    std::string error;
    EXPECT_FALSE(parse_hook_headers(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(HookHeaders, ForwardsOnlyTheListedOnesInOrder) {
  Credentials c;
  c.headers = {{"host", "x"},         {"cookie", "sid=1"}, {"x-tenant", "t"},
               {"authorization", ""}, {"cookie", "b=2"},   {"x-evil", "a\r\nX-Injected: 1"}};
  auto f = hook_forwarded_headers(c, {"x-tenant", "cookie", "authorization", "x-evil", "x-missing"});
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(f, (std::vector<P>{{"x-tenant", "t"}, {"cookie", "sid=1"}, {"cookie", "b=2"}}));
  EXPECT_TRUE(hook_forwarded_headers(c, {"x-missing"}).empty());
  // The Cookie header kept on its own is used when the header list lacks it.
  Credentials only_cookie;
  only_cookie.cookie_header = "sid=9";
  EXPECT_EQ(hook_forwarded_headers(only_cookie, {"cookie"}), (std::vector<P>{{"cookie", "sid=9"}}));
}

TEST(HookCacheKey, IsADigestThatSeparatesFields) {
  auto a = hook_cache_key({{"cookie", "sid=secret"}});
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a, hook_cache_key({{"cookie", "sid=secret"}}));
  EXPECT_EQ(a.find("secret"), std::string::npos);
  EXPECT_NE(a, hook_cache_key({{"cookie", "sid=other"}}));
  EXPECT_NE(hook_cache_key({{"a", "bc"}}), hook_cache_key({{"ab", "c"}}));
  EXPECT_NE(hook_cache_key({{"cookie", "x"}}), hook_cache_key({{"authorization", "x"}}));
}

TEST(HookUrl, KeepsEscapesAndReadsEveryHostForm) {
  std::string error;
  auto u = parse_hook_url("http://10.0.0.7:9000/auth%2Fcheck?next=%2F&x", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "10.0.0.7");
  EXPECT_EQ(u->target, "/auth%2Fcheck?next=%2F&x");
  u = parse_hook_url("http://[2001:db8::1]/", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->authority(), "[2001:db8::1]");
  for (const char* bad : {"http://a%41b/", "http://app/é", "http://[v1.x]/", "http://app:99999/", "http://app:+80/"}) {
    EXPECT_FALSE(parse_hook_url(bad, error)) << bad;
  }
}
