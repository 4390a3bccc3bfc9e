#include "channels/presence_feed.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using peercable::channels::PresenceFeed;
using peercable::store::MemoryPresence;

namespace {

struct Sent {
  std::vector<std::pair<std::string, std::string>> events;
  PresenceFeed::Publish publish() {
    return [this](const std::string& room, std::string json) { events.emplace_back(room, std::move(json)); };
  }
};

}  // namespace

TEST(PresenceFeed, ChangesOfOneWindowAreOneDiffAndAJoinThenLeaveCancels) {
  MemoryPresence p;
  Sent sent;
  PresenceFeed f(p, 10, std::chrono::milliseconds(100), sent.publish());
  p.join("r", {"a", "A"});
  f.joined("r", {"a", "A"});
  p.join("r", {"b", "B"});
  f.joined("r", {"b", "B"});
  p.join("r", {"c", "C"});
  f.joined("r", {"c", "C"});
  p.leave("r", {"c", "C"});
  f.left("r", {"c", "C"});
  f.flush();
  ASSERT_EQ(sent.events.size(), 1u);
  EXPECT_EQ(
      sent.events[0].second,
      R"({"type":"presence_diff","room":"r","count":2,"joined":[{"id":"a","name":"A"},{"id":"b","name":"B"}],"left":[]})");
  f.flush();
  EXPECT_EQ(sent.events.size(), 1u) << "nothing changed: nothing sent";
}

TEST(PresenceFeed, ABigRoomGetsCountsAndABoundedSnapshot) {
  MemoryPresence p;
  Sent sent;
  PresenceFeed f(p, 2, std::chrono::milliseconds(100), sent.publish());
  for (std::string id : {"a", "b", "c"}) {
    p.join("r", {id, id});
    f.joined("r", {id, id});
  }
  f.flush();
  ASSERT_EQ(sent.events.size(), 1u);
  EXPECT_EQ(sent.events[0].second, R"({"type":"presence_diff","room":"r","count":3})");
  EXPECT_EQ(
      f.snapshot("r"),
      R"({"type":"presence","room":"r","count":3,"users":[{"id":"a","name":"a"},{"id":"b","name":"b"}],"more":true})");
  EXPECT_EQ(
      f.page("r", ""),
      R"({"type":"members","room":"r","count":3,"users":[{"id":"a","name":"a"},{"id":"b","name":"b"}],"next":"b"})");
  EXPECT_EQ(f.page("r", "b"), R"({"type":"members","room":"r","count":3,"users":[{"id":"c","name":"c"}],"next":null})");
}

TEST(PresenceFeed, ASmallRoomWithTooManyChangesGetsASnapshotInstead) {
  MemoryPresence p;
  Sent sent;
  PresenceFeed f(p, 2, std::chrono::milliseconds(100), sent.publish());
  p.join("r", {"a", "a"});
  p.join("r", {"b", "b"});
  f.joined("r", {"a", "a"});
  f.joined("r", {"b", "b"});
  p.leave("r", {"b", "b"});
  p.leave("r", {"a", "a"});
  f.flush();  // the joins went out
  sent.events.clear();
  p.join("r", {"x", "x"});
  f.joined("r", {"x", "x"});
  f.left("r", {"a", "a"});
  f.left("r", {"b", "b"});
  f.flush();
  ASSERT_EQ(sent.events.size(), 1u);
  EXPECT_EQ(sent.events[0].second,
            R"({"type":"presence","room":"r","count":1,"users":[{"id":"x","name":"x"}],"more":false})");
}

TEST(PresenceFeed, ABigRoomsCountGoesOutLessOftenTheBiggerItIs) {
  MemoryPresence p;
  Sent sent;
  PresenceFeed f(p, 2, std::chrono::milliseconds(100), sent.publish());
  auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) {
    std::string id = "u" + std::to_string(i);
    p.join("r", {id, id});
    f.joined("r", {id, id});
  }
  f.flush(t);
  ASSERT_EQ(sent.events.size(), 1u);  // count 6, list_max 2: the next one in 3 windows
  p.join("r", {"v", "v"});
  f.joined("r", {"v", "v"});
  f.flush(t + std::chrono::milliseconds(100));
  f.flush(t + std::chrono::milliseconds(200));
  EXPECT_EQ(sent.events.size(), 1u);
  f.flush(t + std::chrono::milliseconds(300));
  ASSERT_EQ(sent.events.size(), 2u);
  EXPECT_EQ(sent.events[1].second, R"({"type":"presence_diff","room":"r","count":7})");
}
