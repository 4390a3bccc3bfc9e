#include "broker/subscription_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace peercable::broker;
using Link = SubscriptionTable::Link;
using State = SubscriptionTable::State;
using Actions = SubscriptionTable::Actions;

namespace {

// Plays the broker: runs the callbacks an event releases and keeps what it was told to send.
class SubscriptionTableTest : public ::testing::Test {
 protected:
  SubscriptionTable::Waiter waiter(int loop, std::string tag) {
    return {loop, ++ticket_, [this, tag = std::move(tag)] { fired.push_back(tag); }};
  }
  // Runs the released callbacks; returns the streams of every SUBSCRIBE batch.
  std::vector<std::vector<std::string>> run(Actions a) {
    for (auto& r : a.ready)
      for (auto& w : r.waiters) w.ready();
    unsubscribed.insert(unsubscribed.end(), a.unsubscribe.begin(), a.unsubscribe.end());
    if (a.synced) ++synced_events;
    return a.subscribe;
  }
  State state(const std::string& stream) {
    auto* e = table.find(stream);
    EXPECT_NE(e, nullptr) << stream;
    return e ? e->second.state : State::kPending;
  }

  SubscriptionTable table;
  std::vector<std::string> fired;
  std::vector<std::string> unsubscribed;
  int synced_events = 0;

 private:
  std::uint64_t ticket_ = 0;
};

using Batches = std::vector<std::vector<std::string>>;

TEST_F(SubscriptionTableTest, TwoLoopsShareOneSubscribeAndAreReadyOnlyAfterTheAck) {
  run(table.connected());
  EXPECT_EQ(run(table.want("room", waiter(0, "a"), Link::kReady)), (Batches{{"room"}}));
  EXPECT_EQ(run(table.want("room", waiter(1, "b"), Link::kReady)), Batches{});
  EXPECT_TRUE(fired.empty());
  EXPECT_EQ(state("room"), State::kSubscribing);

  run(table.subscribed("room"));
  EXPECT_EQ(fired, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(state("room"), State::kLive);
  EXPECT_EQ(table.find("room")->second.loops, 2);

  // A third loop on a live stream is ready at once, with no command.
  EXPECT_EQ(run(table.want("room", waiter(2, "c"), Link::kReady)), Batches{});
  EXPECT_EQ(fired.back(), "c");
}

TEST_F(SubscriptionTableTest, ALoopLeavingWhileSubscribingLosesItsCallbackOnly) {
  run(table.connected());
  run(table.want("room", waiter(0, "a"), Link::kReady));
  run(table.want("room", waiter(1, "b"), Link::kReady));
  run(table.drop(0, "room", Link::kReady));
  EXPECT_TRUE(unsubscribed.empty());
  run(table.subscribed("room"));
  EXPECT_EQ(fired, std::vector<std::string>{"b"});
}

TEST_F(SubscriptionTableTest, TheLastLoopLeavingWhileSubscribingUnsubscribes) {
  run(table.connected());
  run(table.want("room", waiter(0, "a"), Link::kReady));
  run(table.drop(0, "room", Link::kReady));
  EXPECT_EQ(unsubscribed, std::vector<std::string>{"room"});
  EXPECT_EQ(state("room"), State::kUnsubscribing);

  // The SUBSCRIBE's ack comes first: nothing runs, the stream waits for its UNSUBSCRIBE's.
  run(table.subscribed("room"));
  EXPECT_TRUE(fired.empty());
  EXPECT_EQ(state("room"), State::kUnsubscribing);
  EXPECT_EQ(run(table.unsubscribed("room")), Batches{});
  EXPECT_EQ(table.find("room"), nullptr);
}

TEST_F(SubscriptionTableTest, TheLastLoopLeavingALiveStreamUnsubscribesOnce) {
  run(table.connected());
  run(table.want("room", waiter(0, "a"), Link::kReady));
  run(table.want("room", waiter(1, "b"), Link::kReady));
  run(table.subscribed("room"));
  run(table.drop(0, "room", Link::kReady));
  EXPECT_TRUE(unsubscribed.empty());
  run(table.drop(1, "room", Link::kReady));
  EXPECT_EQ(unsubscribed, std::vector<std::string>{"room"});
  run(table.unsubscribed("room"));
  EXPECT_EQ(table.find("room"), nullptr);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(SubscriptionTableTest, SubscribingAgainBeforeTheUnsubscribeAckWaitsForIt) {
  run(table.connected());
  run(table.want("room", waiter(0, "a"), Link::kReady));
  run(table.subscribed("room"));
  run(table.drop(0, "room", Link::kReady));
  ASSERT_EQ(unsubscribed, std::vector<std::string>{"room"});

  // Not ready, and no SUBSCRIBE yet: Redis would drop it with the UNSUBSCRIBE still in flight.
  EXPECT_EQ(run(table.want("room", waiter(1, "b"), Link::kReady)), Batches{});
  EXPECT_EQ(fired, std::vector<std::string>{"a"});
  EXPECT_EQ(run(table.unsubscribed("room")), (Batches{{"room"}}));
  EXPECT_EQ(state("room"), State::kSubscribing);
  run(table.subscribed("room"));
  EXPECT_EQ(fired, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(state("room"), State::kLive);
}

TEST_F(SubscriptionTableTest, AReconnectSubscribesEveryStreamInBatchesAndSyncsOnTheLastAck) {
  const std::size_t n = 2 * SubscriptionTable::kSubscribeBatch + 88;
  // Wanted while the connection comes up: they wait for it.
  for (std::size_t i = 0; i < n; ++i)
    EXPECT_EQ(run(table.want("s" + std::to_string(i), waiter(0, "s" + std::to_string(i)), Link::kConnecting)),
              Batches{});
  Actions a = table.connected();
  EXPECT_TRUE(a.subscribe_pattern);
  auto batches = run(std::move(a));
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].size(), SubscriptionTable::kSubscribeBatch);
  EXPECT_EQ(batches[1].size(), SubscriptionTable::kSubscribeBatch);
  EXPECT_EQ(batches[2].size(), 88u);
  std::vector<std::string> all;
  for (auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());  // each stream once
  EXPECT_EQ(all.size(), n);

  run(table.pattern_subscribed());
  for (std::size_t i = 0; i + 1 < all.size(); ++i) run(table.subscribed(all[i]));
  EXPECT_FALSE(table.synced());
  EXPECT_EQ(synced_events, 0);
  EXPECT_EQ(fired.size(), n - 1);
  run(table.subscribed(all.back()));
  EXPECT_TRUE(table.synced());
  EXPECT_EQ(synced_events, 1);
  EXPECT_EQ(fired.size(), n);

  // Lost and back: every live stream is subscribed again, and the node is synced only once all are acknowledged.
  run(table.lost());
  EXPECT_FALSE(table.synced());
  EXPECT_EQ(state("s0"), State::kPending);
  batches = run(table.connected());
  ASSERT_EQ(batches.size(), 3u);
  run(table.pattern_subscribed());
  for (auto& b : batches)
    for (auto& s : b) run(table.subscribed(s));
  EXPECT_TRUE(table.synced());
  EXPECT_EQ(synced_events, 2);
}

TEST_F(SubscriptionTableTest, SyncedNeedsThePatternToo) {
  run(table.connected());
  EXPECT_FALSE(table.synced());
  run(table.pattern_subscribed());
  EXPECT_TRUE(table.synced());
  EXPECT_EQ(synced_events, 1);
  // A stream wanted later is not part of the sync: it cannot make the node unsynced.
  run(table.want("room", waiter(0, "a"), Link::kReady));
  EXPECT_TRUE(table.synced());
}

TEST_F(SubscriptionTableTest, LostWhileSubscribingServesTheWaitersLocallyAndSubscribesOnReconnect) {
  run(table.connected());
  run(table.want("room", waiter(0, "a"), Link::kReady));
  run(table.want("gone", waiter(0, "g"), Link::kReady));
  run(table.drop(0, "gone", Link::kReady));  // UNSUBSCRIBE in flight when the connection drops
  run(table.lost());
  EXPECT_EQ(fired, std::vector<std::string>{"a"});
  EXPECT_EQ(state("room"), State::kPending);
  EXPECT_EQ(table.find("gone"), nullptr);

  // An acknowledgement of the old connection's SUBSCRIBE does not make the stream live.
  run(table.subscribed("room"));
  EXPECT_EQ(state("room"), State::kPending);
  EXPECT_EQ(run(table.connected()), (Batches{{"room"}}));
  run(table.subscribed("room"));
  EXPECT_EQ(state("room"), State::kLive);
}

TEST_F(SubscriptionTableTest, WhileRedisIsDownStreamsAreServedAtOnceAndSubscribedWhenItIsBack) {
  EXPECT_EQ(run(table.want("room", waiter(0, "a"), Link::kDown)), Batches{});
  EXPECT_EQ(fired, std::vector<std::string>{"a"});
  EXPECT_EQ(state("room"), State::kPending);
  // Left while down: forgotten at once, nothing to tell Redis.
  run(table.want("left", waiter(1, "l"), Link::kDown));
  run(table.drop(1, "left", Link::kDown));
  EXPECT_EQ(table.find("left"), nullptr);
  EXPECT_TRUE(unsubscribed.empty());
  EXPECT_EQ(run(table.connected()), (Batches{{"room"}}));
}

TEST_F(SubscriptionTableTest, AcknowledgementsOfUnknownStreamsChangeNothing) {
  run(table.connected());
  EXPECT_EQ(run(table.unsubscribed("nobody")), Batches{});
  run(table.subscribed("nobody"));
  run(table.drop(0, "nobody", Link::kReady));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(unsubscribed.empty());
}

}  // namespace

TEST_F(SubscriptionTableTest, AHeldStreamStaysSubscribedAfterItsLastLoopLeavesUntilTheHoldEnds) {
  EXPECT_FALSE(table.hold("room")) << "nothing to hold";
  run(table.want("room", waiter(0, "a"), Link::kReady));
  run(table.subscribed("room"));
  EXPECT_TRUE(table.hold("room"));
  run(table.drop(0, "room", Link::kReady));
  EXPECT_TRUE(unsubscribed.empty());
  EXPECT_EQ(state("room"), State::kLive);
  // A loop coming back meanwhile is ready at once: the stream never left.
  run(table.want("room", waiter(1, "b"), Link::kReady));
  EXPECT_EQ(fired, (std::vector<std::string>{"a", "b"}));
  run(table.drop(1, "room", Link::kReady));
  run(table.drop(SubscriptionTable::kHolder, "room", Link::kReady));
  EXPECT_EQ(unsubscribed, std::vector<std::string>{"room"});
}
