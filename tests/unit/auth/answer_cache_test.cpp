#include "auth/answer_cache.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

using namespace peercable::auth;
using namespace std::chrono_literals;

TEST(HookCache, ExpiresAndEvicts) {
  using Clock = HookCache::Clock;
  auto t0 = Clock::time_point{} + 1000s;
  HookCache cache(3);
  Verdict yes{Outcome::kAccepted, {"1", "One"}, {}};
  Verdict no{Outcome::kRefused, {}, "the app refused (401)"};
  cache.store("a", yes, t0 + 30s, t0);
  cache.store("b", no, t0 + 5s, t0);
  ASSERT_TRUE(cache.find("a", t0 + 29s));
  EXPECT_EQ(cache.find("a", t0 + 29s)->identity.name, "One");
  EXPECT_EQ(cache.find("b", t0 + 4s)->outcome, Outcome::kRefused);
  EXPECT_FALSE(cache.find("b", t0 + 5s));  // expired, and dropped
  EXPECT_EQ(cache.size(), 1u);
  // Full: the oldest goes first.
  cache.store("c", yes, t0 + 30s, t0);
  cache.store("d", yes, t0 + 30s, t0);
  cache.store("e", yes, t0 + 30s, t0);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find("a", t0));
  EXPECT_TRUE(cache.find("e", t0));
  // Expired entries at the front make room before live ones are evicted.
  HookCache small(2);
  small.store("x", no, t0 + 5s, t0);
  small.store("y", yes, t0 + 30s, t0);
  small.store("z", yes, t0 + 40s, t0 + 10s);
  EXPECT_TRUE(small.find("y", t0 + 10s));
  EXPECT_TRUE(small.find("z", t0 + 10s));
  // Storing a key again replaces it; capacity 0 stores nothing.
  small.store("y", no, t0 + 15s, t0 + 10s);
  EXPECT_EQ(small.find("y", t0 + 11s)->outcome, Outcome::kRefused);
  HookCache none(0);
  none.store("a", yes, t0 + 30s, t0);
  EXPECT_EQ(none.size(), 0u);
}

TEST(HookCache, EachKindKeepsItsOwnTtl) {
  // Identities for the TTL, the app's explicit no for the negative TTL, anything else never.
  EXPECT_EQ(hook_answer_ttl(HookAnswerKind::kAccepted, 30s, 5s), 30s);
  EXPECT_EQ(hook_answer_ttl(HookAnswerKind::kRefused, 30s, 5s), 5s);
  EXPECT_EQ(hook_answer_ttl(HookAnswerKind::kInvalid, 30s, 5s), 0s);
  EXPECT_EQ(hook_answer_ttl(HookAnswerKind::kRefused, 30s, 0s), 0s);  // --auth-negative-cache-ttl 0

  // A refusal read from the app and stored for its TTL is gone when that TTL ends; an identity stays.
  using Clock = HookCache::Clock;
  auto t0 = Clock::time_point{} + 1000s;
  HookCache cache(10);
  auto keep = [&](const std::string& key, unsigned status, std::string_view body) {
    HookAnswer a = read_hook_answer(status, body);
    Verdict v{a.kind == HookAnswerKind::kAccepted ? Outcome::kAccepted : Outcome::kRefused, a.identity, a.reason};
    cache.store(key, v, t0 + hook_answer_ttl(a.kind, 30s, 5s), t0);
  };
  keep("yes", 200, R"({"id":"7"})");
  keep("no", 401, "");
  keep("broken", 500, "");
  EXPECT_EQ(cache.size(), 2u) << "an error is not stored";
  EXPECT_TRUE(cache.find("no", t0 + 4s));
  EXPECT_FALSE(cache.find("no", t0 + 5s));
  EXPECT_EQ(cache.find("yes", t0 + 29s)->identity.id, "7");
  EXPECT_FALSE(cache.find("yes", t0 + 30s));
  EXPECT_EQ(cache.size(), 0u) << "stale entries are dropped when met";
}

TEST(HookCache, NeverHoldsMoreThanItsCapacity) {
  using Clock = HookCache::Clock;
  auto t0 = Clock::time_point{} + 1000s;
  HookCache cache(100);
  Verdict yes{Outcome::kAccepted, {"1", "One"}, {}};
  for (int i = 0; i < 1000; ++i) {
    cache.store("k" + std::to_string(i), yes, t0 + 30s, t0);
    ASSERT_LE(cache.size(), 100u);
  }
  // The newest 100 are kept, the older ones went first.
  EXPECT_FALSE(cache.find("k899", t0));
  EXPECT_TRUE(cache.find("k900", t0));
  EXPECT_TRUE(cache.find("k999", t0));
  // An entry already expired, or expiring now, is not stored.
  cache.store("late", yes, t0, t0);
  EXPECT_FALSE(cache.find("late", t0));
}
