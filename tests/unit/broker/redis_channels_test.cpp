#include "broker/redis_channels.hpp"

#include <gtest/gtest.h>

using namespace peercable::broker;

// Rails' rule: [channel_prefix, broadcasting].compact.join(":"); no prefix, no colon.
TEST(RedisChannels, ChannelNamesFollowRails) {
  EXPECT_EQ(redis_channel("", "p2p:lobby"), "p2p:lobby");
  EXPECT_EQ(redis_channel("myapp_production", "p2p:lobby"), "myapp_production:p2p:lobby");
}

TEST(RedisChannels, StreamOfChannelStripsThePrefix) {
  EXPECT_EQ(stream_of_channel("", "p2p:lobby"), "p2p:lobby");
  EXPECT_EQ(stream_of_channel("app", "app:p2p:lobby"), "p2p:lobby");
  EXPECT_FALSE(stream_of_channel("app", "p2p:lobby"));
  EXPECT_FALSE(stream_of_channel("app", "apple:p2p"));
  EXPECT_FALSE(stream_of_channel("app", "app"));
}

TEST(RedisChannels, RemoteDisconnectPattern) {
  EXPECT_EQ(remote_disconnect_pattern(""), "action_cable/*");
  EXPECT_EQ(remote_disconnect_pattern("myapp_production"), "myapp_production:action_cable/*");
  // Glob characters in a prefix match only themselves.
  EXPECT_EQ(remote_disconnect_pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\:action_cable/*");
}

TEST(RedisChannels, RemoteDisconnectIdentifier) {
  EXPECT_EQ(remote_disconnect_identifier("", "action_cable/alice"), "alice");
  EXPECT_EQ(remote_disconnect_identifier("app", "app:action_cable/gid://app/User/1"), "gid://app/User/1");
  EXPECT_FALSE(remote_disconnect_identifier("app", "action_cable/alice"));
  EXPECT_FALSE(remote_disconnect_identifier("", "action_cable/"));
  EXPECT_FALSE(remote_disconnect_identifier("", "p2p:lobby"));
}

TEST(RedisChannels, PeercableChannelOfAStreamIsApartFromRails) {
  EXPECT_EQ(ext_channel("", "p2p:lobby"), "peercable:ext:p2p:lobby");
  EXPECT_EQ(ext_channel("app", "p2p:lobby"), "app:peercable:ext:p2p:lobby");
  EXPECT_EQ(stream_of_ext_channel("app", "app:peercable:ext:p2p:lobby"), "p2p:lobby");
  EXPECT_EQ(stream_of_ext_channel("", "peercable:ext:x"), "x");
  EXPECT_FALSE(stream_of_ext_channel("app", "app:p2p:lobby"));
  EXPECT_FALSE(stream_of_ext_channel("app", "peercable:ext:x")) << "another prefix";
  EXPECT_FALSE(stream_of_ext_channel("", "p2p:lobby"));
}
