#include "cable/stream_log.hpp"

#include <gtest/gtest.h>

#include "cable/broadcast.hpp"

using namespace peercable::cable;

namespace {
BroadcastPtr put(StreamLog& log, const std::string& stream, const std::string& payload) {
  auto b = std::make_shared<Broadcast>(stream, payload);
  BroadcastPtr shared = b;
  log.append(*b, shared);
  return shared;
}
std::vector<std::uint64_t> offsets(const std::vector<BroadcastPtr>& v) {
  std::vector<std::uint64_t> out;
  for (const auto& b : v) out.push_back(b->offset());
  return out;
}
}  // namespace

TEST(StreamLog, OffsetsGoUpByOnePerStreamUnderOneEpoch) {
  StreamLog log({}, "node");
  auto a1 = put(log, "a", "1");
  auto b1 = put(log, "b", "1");
  auto a2 = put(log, "a", "2");
  EXPECT_EQ(a1->offset(), 1u);
  EXPECT_EQ(a2->offset(), 2u);
  EXPECT_EQ(b1->offset(), 1u);
  EXPECT_EQ(*a1->epoch(), *a2->epoch());
  EXPECT_NE(*a1->epoch(), *b1->epoch());  // each stream's life is its own epoch
  EXPECT_EQ(a1->epoch()->rfind("node-", 0), 0u);
}

TEST(StreamLog, ReplaysAfterAnOffsetAndRefusesWhatItCannotServe) {
  StreamLogOptions o;
  o.limit = 3;
  StreamLog log(o, "n");
  for (int i = 1; i <= 5; ++i) put(log, "s", std::to_string(i));
  const std::string epoch = *put(log, "t", "x")->epoch();
  std::vector<BroadcastPtr> out;
  const std::string s_epoch = [&] {
    std::vector<BroadcastPtr> any;
    log.since("s", 0, any);
    return *any.front()->epoch();
  }();
  EXPECT_EQ(log.after("s", s_epoch, 2, out), HistoryResult::kOk);  // 3, 4, 5 kept
  EXPECT_EQ(offsets(out), (std::vector<std::uint64_t>{3, 4, 5}));
  out.clear();
  EXPECT_EQ(log.after("s", s_epoch, 5, out), HistoryResult::kOk);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(log.after("s", s_epoch, 1, out), HistoryResult::kEvicted);
  EXPECT_EQ(log.after("s", s_epoch, 6, out), HistoryResult::kFutureOffset);
  EXPECT_EQ(log.after("s", s_epoch, UINT64_MAX, out), HistoryResult::kFutureOffset);
  EXPECT_EQ(log.after("s", epoch, 4, out), HistoryResult::kUnknownEpoch);
  EXPECT_EQ(log.after("nothing", s_epoch, 0, out), HistoryResult::kUnknownStream);
  EXPECT_TRUE(out.empty());
}

TEST(StreamLog, BoundsTheNumberOfStreamsAndANewLifeGetsANewEpoch) {
  StreamLogOptions o;
  o.max_streams = 16;  // one per shard
  StreamLog log(o, "n");
  const std::string first = *put(log, "s0", "x")->epoch();
  for (int i = 1; i < 2000; ++i) put(log, "s" + std::to_string(i), "x");
  EXPECT_LE(log.stream_count(), 16u);
  auto again = put(log, "s0", "y");
  std::vector<BroadcastPtr> out;
  EXPECT_NE(*again->epoch(), first);
  EXPECT_EQ(log.after("s0", first, 1, out), HistoryResult::kUnknownEpoch);
}

TEST(Broadcast, ExtendedFramesCarryThePositionAndPlainOnesDoNot) {
  StreamLog log({}, "n");
  auto b = put(log, "room:1", R"({"n":1})");
  auto plain = b->frame_for("{}");
  auto ext = b->frame_for("{}", true);
  EXPECT_NE(plain->find(R"({"identifier":"{}","message":{"n":1}})"), std::string::npos);
  EXPECT_EQ(plain->find("offset"), std::string::npos);
  EXPECT_NE(ext->find(R"(,"stream_id":"room:1","epoch":")" + *b->epoch() + R"(","offset":1})"), std::string::npos);
  EXPECT_EQ(b->frame_for("{}", true), ext);  // built once
}
