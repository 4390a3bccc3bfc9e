#include "redis/sync_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "support/redis_server.hpp"

using peercable::redis::SyncClient;
using peercable::testing::RedisServer;
using namespace std::chrono_literals;

namespace {
SyncClient::Options options() {
  return {"test", "nothing to fall back on", std::chrono::milliseconds(300), 100ms, 400ms};
}
std::string text(const peercable::redis::RedisReplyPtr& r) {
  return r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string("<none>");
}
}  // namespace

TEST(SyncClient, CommandsAndPipelinesReachTheServer) {
  RedisServer redis;
  auto c = SyncClient::from_url(redis.url(), options());
  ASSERT_TRUE(c.up());
  ASSERT_TRUE(c.command({"SET", "k", std::string_view("a\0b", 3)}));
  EXPECT_EQ(text(c.command({"GET", "k"})), std::string("a\0b", 3));
  auto replies = c.pipeline({{"INCR", "n"}, {"INCR", "n"}, {"GET", "n"}});
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[1]->integer, 2);
  EXPECT_EQ(text(replies[2]), "2");
  EXPECT_FALSE(c.closed());
}

TEST(SyncClient, ComesBackAfterAnOutage) {
  RedisServer redis;
  auto c = SyncClient::from_url(redis.url(), options());
  ASSERT_TRUE(c.up());
  redis.stop();
  EXPECT_TRUE(c.closed() || !c.command({"PING"}));
  if (c.up()) c.lost("closed");
  EXPECT_FALSE(c.up());
  EXPECT_FALSE(c.command({"PING"})) << "a call while down fails at once";
  EXPECT_TRUE(c.pipeline({{"PING"}}).empty());
  EXPECT_FALSE(c.adopt(c.attempt()));
  redis.start();
  ASSERT_TRUE(c.adopt(c.attempt()));
  EXPECT_EQ(text(c.command({"ECHO", "back"})), "back");
}

TEST(SyncClient, PausesDoubleUpToTheCap) {
  RedisServer redis;
  auto c = SyncClient::from_url(redis.url(), options());
  EXPECT_EQ(c.next_pause(), 100ms);
  EXPECT_EQ(c.next_pause(), 200ms);
  EXPECT_EQ(c.next_pause(), 400ms);
  EXPECT_EQ(c.next_pause(), 400ms);
  ASSERT_TRUE(c.adopt(c.attempt()));  // a connection resets the pause
  EXPECT_EQ(c.next_pause(), 100ms);
}

TEST(SyncClient, AWrongPasswordIsAConfigurationError) {
  RedisServer redis({"--requirepass", "right"});
  std::string url = "redis://:wrong@127.0.0.1:" + std::to_string(redis.port()) + "/0";
  EXPECT_THROW(SyncClient::from_url(url, options()), std::runtime_error);
  auto ok = SyncClient::from_url("redis://:right@127.0.0.1:" + std::to_string(redis.port()) + "/0", options());
  EXPECT_TRUE(ok.up());
}

TEST(SyncClient, AnUnreachableServerStartsDown) {
  int port = 0;
  {
    RedisServer redis;
    port = redis.port();
  }
  auto c = SyncClient::from_url("redis://127.0.0.1:" + std::to_string(port) + "/0", options());
  EXPECT_FALSE(c.up());
  EXPECT_FALSE(c.command({"PING"}));
}
