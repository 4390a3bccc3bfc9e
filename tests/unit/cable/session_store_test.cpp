#include "cable/session_store.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace peercable::cable;

namespace {
SavedSession session_of(const std::string& user) {
  SavedSession s;
  s.user.id = user;
  s.user.name = user;
  s.credentials = "digest";
  s.identifiers = {R"({"channel":"$pubsub","stream_name":"a"})"};
  return s;
}
}  // namespace

TEST(SessionStore, KeepsUntilTakenOnceAndBoundsTheCount) {
  SessionStore store(std::chrono::seconds(60), 3);
  const std::string sid = SessionStore::new_sid();
  EXPECT_EQ(sid.size(), 32u);
  EXPECT_NE(sid, SessionStore::new_sid());
  store.save(sid, session_of("amy"));
  auto found = store.find(sid);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->user.id, "amy");
  EXPECT_TRUE(store.take(sid));
  EXPECT_FALSE(store.take(sid));
  EXPECT_FALSE(store.find(sid));
  for (int i = 0; i < 10; ++i) store.save("s" + std::to_string(i), session_of("u"));
  EXPECT_LE(store.size(), 3u);
  EXPECT_TRUE(store.find("s9"));
  EXPECT_FALSE(store.find("s0"));  // the oldest went first
}

TEST(SessionStore, ForgetsAfterTheTtl) {
  SessionStore store(std::chrono::seconds(1), 100);
  store.save("x", session_of("amy"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(store.find("x"));
  EXPECT_EQ(store.size(), 0u);
}

TEST(SessionStore, EncodesForRedisAndBack) {
  SavedSession s = session_of("amy \"the\" 🦊");
  s.user.guest = true;
  s.user.rooms = {"team-*", "a\\b"};
  s.credentials = std::string("\0\xff\x01zz", 5);
  s.identifiers.push_back(R"({"channel":"P2PChannel","room":"lobby"})");
  auto back = decode_session(encode_session(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->user.id, s.user.id);
  EXPECT_EQ(back->user.name, s.user.name);
  EXPECT_TRUE(back->user.guest);
  EXPECT_EQ(back->user.rooms, s.user.rooms);
  EXPECT_EQ(back->credentials, s.credentials);
  EXPECT_EQ(back->identifiers, s.identifiers);
}

TEST(SessionStore, RefusesWhatIsNotASavedSession) {
  EXPECT_FALSE(decode_session(""));
  EXPECT_FALSE(decode_session("[]"));
  EXPECT_FALSE(decode_session(R"({"id":"a"})"));
  EXPECT_FALSE(decode_session(
      R"({"id":"a","name":"a","guest":false,"rooms":[],"credentials":"not base64!","subscriptions":[]})"));
  EXPECT_FALSE(
      decode_session(R"({"id":"a","name":"a","guest":false,"rooms":[1],"credentials":"","subscriptions":[]})"));
  EXPECT_TRUE(decode_session(R"({"id":"a","name":"a","guest":false,"rooms":[],"credentials":"","subscriptions":[]})"));
}
