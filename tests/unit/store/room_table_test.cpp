#include "store/room_table.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using peercable::store::RoomTable;

TEST(RoomTable, AnEmptyRoomExpiresAfterTheTtlNotBefore) {
  RoomTable t(0, 10s);
  auto now = RoomTable::Clock::now();
  t.acquire("a");
  t.release("a", now);
  EXPECT_TRUE(t.expired(now + 9s).empty());
  EXPECT_EQ(t.expired(now + 10s), std::vector<std::string>{"a"});
  EXPECT_EQ(t.size(), 0u);
}

TEST(RoomTable, ARoomJoinedAgainDoesNotExpireAndItsIdleTimeRestarts) {
  RoomTable t(0, 10s);
  auto now = RoomTable::Clock::now();
  t.acquire("a");
  t.release("a", now);
  t.acquire("a");
  EXPECT_TRUE(t.expired(now + 20s).empty());  // subscribed: not forgotten
  t.release("a", now + 30s);
  EXPECT_TRUE(t.expired(now + 35s).empty());
  EXPECT_EQ(t.expired(now + 40s), std::vector<std::string>{"a"});
}

TEST(RoomTable, JoiningAndLeavingInALoopKeepsOneExpiryEntry) {
  RoomTable t(0, 10s);
  auto now = RoomTable::Clock::now();
  for (int i = 0; i < 1000; ++i) {
    t.acquire("a");
    t.release("a", now + std::chrono::milliseconds(i));
  }
  EXPECT_TRUE(t.expired(now + 10s).empty());  // emptied last at now+999ms
  EXPECT_EQ(t.expired(now + 11s), std::vector<std::string>{"a"});
}

TEST(RoomTable, TheLimitRefusesNewRoomsButNotLiveOnes) {
  RoomTable t(2, 1s);
  auto now = RoomTable::Clock::now();
  t.acquire("a");
  t.acquire("b");
  EXPECT_FALSE(t.admits("c"));
  EXPECT_TRUE(t.admits("a"));
  t.release("b", now);
  EXPECT_FALSE(t.admits("c")) << "an empty room counts until it expires";
  t.expired(now + 1s);
  EXPECT_TRUE(t.admits("c"));
}

TEST(RoomTable, AdoptedRoomsExpireUnlessJoined) {
  RoomTable t(0, 5s);
  auto now = RoomTable::Clock::now();
  t.adopt("old", now);
  t.adopt("kept", now);
  t.acquire("kept");
  auto gone = t.expired(now + 5s);
  EXPECT_EQ(gone, std::vector<std::string>{"old"});
  EXPECT_EQ(t.size(), 1u);
}
