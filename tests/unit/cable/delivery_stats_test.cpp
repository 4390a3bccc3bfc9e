#include "cable/delivery_stats.hpp"

#include <gtest/gtest.h>

#include "cable/broadcast.hpp"

using namespace peercable;
using namespace std::chrono_literals;

// Bounds are inclusive (Prometheus' le): 100 µs lands in the first bucket, 100.001 µs in the second.
TEST(LatencyHistogram, BucketsAreInclusiveUpperBounds) {
  cable::LatencyHistogram h;
  h.observe(50us);
  h.observe(100us);
  h.observe(100001ns);
  h.observe(5s);
  h.observe(10s);
  h.observe(-1ms);  // a clock that went back counts as zero
  auto c = h.counts();
  EXPECT_EQ(c[0], 3u);
  EXPECT_EQ(c[1], 1u);
  EXPECT_EQ(c[cable::kLatencyBucketsUs.size() - 1], 1u);  // 5 s
  EXPECT_EQ(c.back(), 1u);                                // +Inf
  EXPECT_EQ(h.count(), 6u);
  EXPECT_EQ(h.sum_ns(), 50000u + 100000u + 100001u + 5000000000u + 10000000000u);
}

// A broadcast's latency is observed at the loop's flush pass, once, whatever its subscriber count.
TEST(DeliveryStats, LatencyObservedOncePerBroadcastAtFlush) {
  net::Loop loop(0);
  cable::DeliveryStats stats(loop);
  cable::Broadcast a("s", "1"), b("s", "2");
  stats.on_deliver(a, 500);
  stats.on_deliver(b, 500);
  EXPECT_EQ(stats.latency().count(), 0u);
  stats.flush();
  EXPECT_EQ(stats.latency().count(), 2u);
  EXPECT_EQ(stats.deliveries(), 1000u);
  EXPECT_EQ(stats.broadcasts(), 2u);
  stats.flush();  // nothing new
  EXPECT_EQ(stats.latency().count(), 2u);
}

// Bounded memory: with far more streams than slots the busiest one is still found, first, and the window
// starts again after roll().
TEST(DeliveryStats, BusiestStreamsInBoundedMemory) {
  net::Loop loop(0);
  cable::DeliveryStats stats(loop);
  for (int i = 0; i < 1000; ++i) {
    stats.on_deliver(cable::Broadcast("room:" + std::to_string(i), "{}"), 1);
    if (i % 10 == 0) stats.on_deliver(cable::Broadcast("hot", "{}"), 100);
    stats.flush();
  }
  stats.roll();
  auto top = stats.top_streams();
  ASSERT_FALSE(top.empty());
  EXPECT_LE(top.size(), cable::DeliveryStats::kTrackedStreams);
  EXPECT_EQ(top[0].stream, "hot");
  EXPECT_GE(top[0].deliveries, 100u * 100);
  for (std::size_t i = 1; i < top.size(); ++i) EXPECT_GE(top[i - 1].deliveries, top[i].deliveries);
  stats.roll();
  EXPECT_TRUE(stats.top_streams().empty());
}

TEST(DeliveryStats, SubscriberGauges) {
  net::Loop loop(0);
  cable::DeliveryStats stats(loop);
  stats.on_subscribers(1, 1);
  stats.on_subscribers(1, 2);
  stats.on_subscribers(-1, 1);
  EXPECT_EQ(stats.stream_subscriptions(), 1);
  EXPECT_EQ(stats.streams(), 1);
}
