#include "redis/redis_url.hpp"

#include <gtest/gtest.h>

using namespace peercable::redis;

namespace {
RedisEndpoint ok(std::string_view url) {
  auto r = parse_redis_url(url);
  EXPECT_TRUE(r.endpoint.has_value()) << url << ": " << r.error;
  return r.endpoint.value_or(RedisEndpoint{});
}
std::string error_of(std::string_view url) {
  auto r = parse_redis_url(url);
  EXPECT_FALSE(r.endpoint.has_value()) << url;
  return r.error;
}
}  // namespace

TEST(RedisUrl, HostPortAndDatabase) {
  auto ep = ok("redis://cache.internal:6380/3");
  EXPECT_EQ(ep.host, "cache.internal");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.db, 3);
  EXPECT_TRUE(ep.user.empty());
  EXPECT_TRUE(ep.password.empty());
}

TEST(RedisUrl, Defaults) {
  EXPECT_EQ(ok("redis://"), RedisEndpoint{});
  EXPECT_EQ(ok("redis://localhost"), (RedisEndpoint{"localhost", 6379, "", "", 0}));
  EXPECT_EQ(ok("redis://10.0.0.5/"), (RedisEndpoint{"10.0.0.5", 6379, "", "", 0}));
  EXPECT_EQ(ok("redis://:7000"), (RedisEndpoint{"127.0.0.1", 7000, "", "", 0}));
}

TEST(RedisUrl, PasswordOnlyAsRailsWritesIt) {
  auto ep = ok("redis://:s3cret@127.0.0.1:6379/1");
  EXPECT_TRUE(ep.user.empty());
  EXPECT_EQ(ep.password, "s3cret");
  EXPECT_EQ(ep.db, 1);
}

TEST(RedisUrl, AclUserAndPassword) {
  auto ep = ok("redis://cable:pa55@redis:6379/0");
  EXPECT_EQ(ep.user, "cable");
  EXPECT_EQ(ep.password, "pa55");
  EXPECT_EQ(ep.host, "redis");
}

TEST(RedisUrl, PercentEscapesInCredentials) {
  auto ep = ok("redis://us%40er:p%3Aa%2Fss%25@h:1/2");
  EXPECT_EQ(ep.user, "us@er");
  EXPECT_EQ(ep.password, "p:a/ss%");
}

TEST(RedisUrl, UnescapedAtInPasswordUsesTheLastOne) {
  auto ep = ok("redis://:p@ss@h:6379");
  EXPECT_EQ(ep.password, "p@ss");
  EXPECT_EQ(ep.host, "h");
}

TEST(RedisUrl, Ipv6Host) {
  auto ep = ok("redis://[::1]:6390/4");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 6390);
  EXPECT_EQ(ep.db, 4);
  EXPECT_EQ(ok("redis://[fe80::1]").port, 6379);
}

TEST(RedisUrl, RefusesOtherSchemes) {
  EXPECT_NE(error_of("rediss://h:6379").find("TLS"), std::string::npos);
  EXPECT_NE(error_of("http://h:6379").find("redis://"), std::string::npos);
  EXPECT_NE(error_of("unix:///tmp/redis.sock").find("redis://"), std::string::npos);
  error_of("");
  error_of("REDIS://h");
}

TEST(RedisUrl, RefusesBadPorts) {
  error_of("redis://h:0");
  error_of("redis://h:65536");
  error_of("redis://h:http");
  error_of("redis://h:");
  error_of("redis://h:-1");
  error_of("redis://h:99999999999999");
  error_of("redis://[::1]:");
  error_of("redis://[::1]x");
  error_of("redis://[::1");
}

TEST(RedisUrl, RefusesBadDatabases) {
  error_of("redis://h/x");
  error_of("redis://h/1/2");
  error_of("redis://h/-1");
  EXPECT_NE(error_of("redis://h/one").find("database"), std::string::npos);
}

TEST(RedisUrl, RefusesBadCredentials) {
  EXPECT_NE(error_of("redis://onlyuser@h").find("password"), std::string::npos);
  error_of("redis://user:@h");
  error_of("redis://:@h");
  error_of("redis://:bad%zzescape@h");
  error_of("redis://:trunc%4@h");
  error_of("redis://us%er:pw@h");
}

TEST(RedisUrl, RefusesQueryFragmentAndOddHosts) {
  error_of("redis://h:6379/0?timeout=1");
  error_of("redis://h:6379/0#x");
  error_of("redis://h st:6379");
  error_of("redis://h/st:6379x");
}

TEST(RedisUrl, RedactedUrlHidesThePassword) {
  EXPECT_EQ(redacted_url(ok("redis://cable:pa55@redis:6380/2")), "redis://cable:***@redis:6380/2");
  EXPECT_EQ(redacted_url(ok("redis://:pa55@redis")), "redis://:***@redis:6379/0");
  EXPECT_EQ(redacted_url(ok("redis://127.0.0.1:7001/1")), "redis://127.0.0.1:7001/1");
  EXPECT_EQ(redacted_url(ok("redis://[::1]:7001")), "redis://[::1]:7001/0");
}
