#include "broker/rails_queue.hpp"

#include <gtest/gtest.h>

using namespace peercable::broker;
using namespace std::chrono_literals;
using Clock = RailsQueue::Clock;

namespace {

std::vector<std::string> payloads(const std::vector<RailsQueue::Offer>& offers) {
  std::vector<std::string> out;
  for (const auto& o : offers) out.push_back(o.payload);
  return out;
}

}  // namespace

TEST(RailsQueue, OffersEachBroadcastAndDeliversItWhenItsPositionComes) {
  RailsQueue q;
  auto t = Clock::now();
  auto a = q.arrived("s", "1", t);
  ASSERT_EQ(a.offers.size(), 1u);
  EXPECT_EQ(a.offers[0].stream, "s");
  EXPECT_EQ(a.offers[0].payload, "1");
  EXPECT_TRUE(a.bare.empty());
  q.answered("s", a.offers[0].id, true, t);
  auto b = q.arrived("s", "2", t);  // the one before was sequenced here: offered at once
  EXPECT_EQ(payloads(b.offers), std::vector<std::string>{"2"});
  EXPECT_EQ(q.size(), 2u);
  auto m = q.positioned("s", "1");
  EXPECT_TRUE(m.found);
  EXPECT_TRUE(m.bare.empty());
  EXPECT_TRUE(q.positioned("s", "2").found);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_FALSE(q.positioned("s", "2").found) << "a position for nothing held is dropped (never delivered twice)";
}

TEST(RailsQueue, IdenticalBroadcastsMatchTheirPositionsInArrivalOrder) {
  RailsQueue q;
  auto t = Clock::now();
  q.arrived("s", "same", t);
  q.arrived("s", "same", t);
  EXPECT_TRUE(q.positioned("s", "same").found);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_TRUE(q.positioned("s", "same").found);
  EXPECT_FALSE(q.positioned("s", "same").found);
  EXPECT_FALSE(q.positioned("other", "same").found) << "streams are apart";
}

TEST(RailsQueue, WhileAnotherNodeHoldsTheLeaseLaterBroadcastsWaitAndAreOfferedInOrder) {
  RailsQueue q;
  auto t = Clock::now();
  auto a = q.arrived("s", "1", t);
  q.answered("s", a.offers[0].id, false, t);  // another node holds the lease
  EXPECT_TRUE(q.arrived("s", "2", t + 10ms).offers.empty()) << "not offered ahead of the refused one";
  EXPECT_TRUE(q.tick(t + 400ms).offers.empty());
  // The refused one is due again: it and the one behind it are offered, in arrival order.
  auto due = q.tick(t + 500ms);
  EXPECT_EQ(payloads(due.offers), (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(q.tick(t + 600ms).offers.empty()) << "an offer is made once until it is answered";
}

TEST(RailsQueue, GivesUpAfterTheTimeAndDeliversBareOldestFirst) {
  RailsQueue q;
  auto t = Clock::now();
  q.arrived("s", "1", t);
  q.arrived("s", "2", t + 1s);
  q.arrived("t", "x", t);
  auto a = q.tick(t + 3s);
  ASSERT_EQ(a.bare.size(), 2u);
  std::sort(a.bare.begin(), a.bare.end());
  EXPECT_EQ(a.bare[0], (std::pair<std::string, std::string>{"s", "1"}));
  EXPECT_EQ(a.bare[1], (std::pair<std::string, std::string>{"t", "x"}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_FALSE(q.positioned("s", "1").found) << "given up: its late position is dropped";
  EXPECT_EQ(q.tick(t + 4s).bare, (std::vector<std::pair<std::string, std::string>>{{"s", "2"}}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(RailsQueue, APositionThatSkipsOlderEntriesDeliversThemBareFirst) {
  RailsQueue q;
  auto t = Clock::now();
  q.arrived("s", "1", t);
  q.arrived("s", "2", t);
  q.arrived("s", "3", t);
  auto m = q.positioned("s", "3");
  EXPECT_TRUE(m.found);
  EXPECT_EQ(m.bare, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(RailsQueue, IsBoundedPerStreamAndInBytes) {
  RailsQueue::Timing timing;
  timing.max_per_stream = 3;
  timing.max_bytes = 10;
  RailsQueue q(timing);
  auto t = Clock::now();
  for (std::string p : {"a", "b", "c"}) EXPECT_TRUE(q.arrived("s", p, t).bare.empty());
  auto a = q.arrived("s", "d", t);
  EXPECT_EQ(a.bare, (std::vector<std::pair<std::string, std::string>>{{"s", "a"}})) << "the oldest goes out bare";
  EXPECT_EQ(q.size(), 3u);
  auto b = q.arrived("s", "eeeeeeeee", t);  // 9 bytes: 3 + 9 > 10, so b and c go (1 + 9 fits)
  EXPECT_EQ(b.bare, (std::vector<std::pair<std::string, std::string>>{{"s", "b"}, {"s", "c"}}));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.bytes(), 10u);
}

TEST(RailsQueue, ForgetsAStreamNobodyHereFollows) {
  RailsQueue q;
  auto t = Clock::now();
  auto a = q.arrived("s", "1", t);
  q.arrived("t", "2", t);
  q.forget("s");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.bytes(), 1u);
  q.answered("s", a.offers[0].id, true, t);  // a late answer for a forgotten stream changes nothing
  EXPECT_FALSE(q.positioned("s", "1").found);
  EXPECT_TRUE(q.tick(t + 5s).bare.size() == 1u);
}
