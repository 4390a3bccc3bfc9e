#include "broker/stream_sequencing.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "broker/redis_channels.hpp"
#include "redis/redis_sync.hpp"
#include "redis/stream_keys.hpp"
#include "support/redis_server.hpp"

using namespace peercable::broker;
using namespace peercable::redis;
using peercable::testing::RedisServer;

TEST(TwinFilter, DropsTheBareTwinRightAfterItsSequencedBroadcastOnly) {
  TwinFilter twins;
  EXPECT_FALSE(twins.is_twin("room"));  // nothing sequenced yet: a Rails broadcast
  twins.positioned("room");
  EXPECT_TRUE(twins.is_twin("room"));
  EXPECT_FALSE(twins.is_twin("room"));  // a second bare one is Rails' own

  twins.positioned("room");
  EXPECT_FALSE(twins.is_twin("other"));  // another stream's bare broadcast ends the wait
  EXPECT_FALSE(twins.is_twin("room"));

  twins.positioned("room");
  twins.other();  // any other reply (an ack, a pattern message) ends it too
  EXPECT_FALSE(twins.is_twin("room"));

  twins.positioned("a");
  twins.positioned("b");  // the latest sequenced broadcast decides
  EXPECT_FALSE(twins.is_twin("a"));
  twins.positioned("b");
  EXPECT_TRUE(twins.is_twin("b"));
}

TEST(TwinFilter, AnEmptyStreamNameIsNeverATwinOfNothing) {
  TwinFilter twins;
  EXPECT_FALSE(twins.is_twin(""));
}

namespace {
RedisReplyPtr must(RedisReplyPtr r) {
  EXPECT_TRUE(r);
  if (r && r->type == REDIS_REPLY_ERROR) ADD_FAILURE() << std::string(r->str, r->len);
  return r;
}
// A real redis-server with a command connection and one to subscribe on.
struct Redis {
  RedisServer server;
  RedisSyncConnect c = connect("test");
  RedisSyncConnect sub = connect("test-sub");
  RedisSyncConnect connect(std::string_view name) {
    return redis_connect_sync({"127.0.0.1", server.port()}, std::chrono::milliseconds(2000), name);
  }
};
}  // namespace

// The script on a real Redis: the SHA EVALSHA uses is the one Redis computes, offsets count from 1 under one
// epoch, and a subscriber to both channels gets the sequenced broadcast then its bare twin, adjacent.
TEST(SequenceScript, SequencesAndPublishesBothTwinsAdjacent) {
  Redis r;
  auto &c = r.c, &sub = r.sub;
  ASSERT_TRUE(c.context && sub.context);

  auto sha = must(redis_command(c.context.get(), {"SCRIPT", "LOAD", sequence_script()}));
  ASSERT_TRUE(sha && sha->type == REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(sha->str, sha->len), sequence_script_sha());

  const std::string stream = "p2p:lobby", ext = ext_channel("", stream), rails = redis_channel("", stream);
  const std::string ns = stream_namespace("");
  auto keys = stream_keys(ns, stream);
  const std::string index = stream_index_key(ns);
  ASSERT_TRUE(must(redis_command(sub.context.get(), {"SUBSCRIBE", ext, rails})));
  ASSERT_TRUE(must(redis_reply(sub.context.get())));  // the second channel's ack

  auto eval = [&](std::string_view payload, std::string_view epoch) {
    auto r = must(redis_command(
        c.context.get(), {"EVALSHA", sha->str, "4", keys.meta, keys.log, index, keys.lease, payload, epoch, "100",
                          "60000", "60000", "1000", stream, ext, rails, ns, "node-a", "2000"}));
    return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  };
  EXPECT_EQ(eval(R"({"n":1})", "e1"), 1);
  EXPECT_EQ(eval(R"({"n":2})", "e2"), 2);  // the stream's epoch stays the first one

  TwinFilter twins;
  for (int n = 1; n <= 2; ++n) {
    auto positioned = must(redis_reply(sub.context.get()));
    ASSERT_TRUE(positioned && positioned->type == REDIS_REPLY_ARRAY && positioned->elements == 3);
    EXPECT_EQ(std::string(positioned->element[1]->str), ext);
    auto p = decode_envelope({positioned->element[2]->str, positioned->element[2]->len});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, Envelope::Kind::kTwinned);
    EXPECT_EQ(p->epoch, "e1");
    EXPECT_EQ(p->offset, static_cast<std::uint64_t>(n));
    EXPECT_EQ(p->payload, "{\"n\":" + std::to_string(n) + "}");
    twins.positioned(*stream_of_ext_channel("", ext));

    auto bare = must(redis_reply(sub.context.get()));
    ASSERT_TRUE(bare && bare->type == REDIS_REPLY_ARRAY && bare->elements == 3);
    EXPECT_EQ(std::string(bare->element[1]->str), rails);
    EXPECT_EQ(std::string(bare->element[2]->str), p->payload);
    EXPECT_TRUE(twins.is_twin(*stream_of_channel("", rails)));
  }
  auto len = must(redis_command(c.context.get(), {"XLEN", keys.log}));
  ASSERT_TRUE(len);
  EXPECT_EQ(len->integer, 2);
}

// A Rails broadcast (the script with no Rails channel): sequenced only by the lease's holder, published once with
// its Rails tag and no twin; the lease passes when its holder releases it.
TEST(SequenceScript, SequencesARailsBroadcastOnlyForTheLeaseHolder) {
  Redis r;
  auto &c = r.c, &sub = r.sub;
  ASSERT_TRUE(c.context && sub.context);
  const std::string stream = "turbo", ext = ext_channel("", stream), rails = redis_channel("", stream);
  const std::string ns = stream_namespace("");
  auto keys = stream_keys(ns, stream);
  ASSERT_TRUE(must(redis_command(sub.context.get(), {"SUBSCRIBE", ext, rails})));
  ASSERT_TRUE(must(redis_reply(sub.context.get())));

  auto offer = [&](std::string_view payload, std::string_view node) {
    auto r = must(redis_command(c.context.get(),
                                {"EVAL", sequence_script(), "4", keys.meta, keys.log, stream_index_key(ns), keys.lease,
                                 payload, "e1", "100", "60000", "60000", "1000", stream, ext, "", ns, node, "60000"}));
    return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  };
  auto release = [&](std::string_view node) {
    must(redis_command(c.context.get(), {"EVAL", release_lease_script(), "1", keys.lease, node}));
  };
  EXPECT_EQ(offer(R"({"n":1})", "node-a"), 1);  // the lease was free: node a takes it
  EXPECT_EQ(offer(R"({"n":1})", "node-b"), 0);  // the same broadcast seen by node b: refused, not sequenced twice
  release("node-b");                            // not b's to give up
  EXPECT_EQ(offer(R"({"n":2})", "node-b"), 0);
  EXPECT_EQ(offer(R"({"n":2})", "node-a"), 2);
  release("node-a");
  EXPECT_EQ(offer(R"({"n":3})", "node-b"), 3);  // free again: b takes it
  for (int n = 1; n <= 3; ++n) {
    auto m = must(redis_reply(sub.context.get()));
    ASSERT_TRUE(m && m->type == REDIS_REPLY_ARRAY && m->elements == 3);
    EXPECT_EQ(std::string(m->element[1]->str), ext) << "published once, on the peercable channel: no twin";
    auto p = decode_envelope({m->element[2]->str, m->element[2]->len});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, Envelope::Kind::kRails);
    EXPECT_EQ(p->offset, static_cast<std::uint64_t>(n));
    EXPECT_EQ(p->payload, "{\"n\":" + std::to_string(n) + "}");
  }
  auto len = must(redis_command(c.context.get(), {"XLEN", keys.log}));
  ASSERT_TRUE(len);
  EXPECT_EQ(len->integer, 3);
}

// The mark of broadcasts no node sequenced: the time and the stream's last offset; "if-sequenced" leaves a stream
// without offsets alone.
TEST(MarkScript, KeepsTheTimeAndTheLastOffset) {
  Redis r;
  auto& c = r.c;
  ASSERT_TRUE(c.context);
  auto keys = stream_keys(stream_namespace(""), "s");
  auto mark = [&](std::string_view mode) {
    must(
        redis_command(c.context.get(), {"EVAL", mark_script(), "2", keys.meta, keys.raw, "1700000000", "60000", mode}));
    auto r = redis_command(c.context.get(), {"GET", keys.raw});
    return r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string("(none)");
  };
  EXPECT_EQ(mark("if-sequenced"), "(none)");
  EXPECT_EQ(mark("always"), "1700000000 0");
  must(redis_command(c.context.get(), {"HSET", keys.meta, "epoch", "e", "offset", "5"}));
  EXPECT_EQ(mark("if-sequenced"), "1700000000 5");
}
