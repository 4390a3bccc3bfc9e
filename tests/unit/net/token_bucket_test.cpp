// The token bucket: full at first use, refilled with time up to its capacity.
#include "net/token_bucket.hpp"

#include <gtest/gtest.h>

using peercable::net::TokenBucket;
using namespace std::chrono_literals;

TEST(TokenBucket, StartsFullAndEmpties) {
  TokenBucket b;
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.take(t0, 3, 1)) << i;
  EXPECT_FALSE(b.take(t0, 3, 1));
  EXPECT_LT(b.tokens(), 1);
}

TEST(TokenBucket, RefillsAtItsRateUpToCapacity) {
  TokenBucket b;
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  EXPECT_TRUE(b.take(t0, 2, 4));
  EXPECT_TRUE(b.take(t0, 2, 4));
  EXPECT_FALSE(b.take(t0 + 200ms, 2, 4));  // 0.8 of a token
  EXPECT_TRUE(b.take(t0 + 250ms, 2, 4));   // one earned
  b.refill(t0 + 1h, 2, 4);
  EXPECT_DOUBLE_EQ(b.tokens(), 2);  // never above capacity
}
