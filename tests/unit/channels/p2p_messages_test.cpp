#include "channels/p2p_messages.hpp"

#include <gtest/gtest.h>

using namespace peercable;
using namespace peercable::channels;

namespace {
auth::Identity ada() {
  auth::Identity who;
  who.id = "u1";
  who.name = "Ada \"A\"";
  return who;
}
}  // namespace

TEST(P2PMessages, Streams) {
  EXPECT_EQ(room_stream("lobby"), "p2p:lobby");
  EXPECT_EQ(user_stream("u1"), "p2p:user:u1");
}

TEST(P2PMessages, RoomNames) {
  EXPECT_TRUE(valid_room("lobby"));
  EXPECT_TRUE(valid_room("a-b_c.d:9"));
  EXPECT_FALSE(valid_room(""));
  EXPECT_FALSE(valid_room("with space"));
  EXPECT_FALSE(valid_room("p2p/room"));
  EXPECT_FALSE(valid_room("caf\xC3\xA9"));
  EXPECT_TRUE(valid_room(std::string(64, 'r')));
  EXPECT_FALSE(valid_room(std::string(65, 'r')));
  EXPECT_TRUE(valid_room("abc", 3));
  EXPECT_FALSE(valid_room("abcd", 3));
}

TEST(P2PMessages, BodiesLoseControlCharactersButKeepTextNewlinesAndTabs) {
  EXPECT_EQ(clean_body("a\x01"
                       "b\x7F"
                       "c"),
            "abc");
  EXPECT_EQ(clean_body("line\nnext\tcol"), "line\nnext\tcol");
  EXPECT_EQ(clean_body("x\xC2\x85y"), "xy");                                // C1 (NEL) removed
  EXPECT_EQ(clean_body("caf\xC3\xA9 \xC2\xA0!"), "caf\xC3\xA9 \xC2\xA0!");  // é and NBSP kept
  EXPECT_TRUE(blank_body(" \n\t"));
  EXPECT_TRUE(blank_body(""));
  EXPECT_FALSE(blank_body(" . "));
}

TEST(P2PMessages, JsonOfEachMessage) {
  EXPECT_EQ(error_json("busy", "try \"again\""), R"({"type":"error","code":"busy","message":"try \"again\""})");
  EXPECT_EQ(room_message("n-1", "lobby", ada(), "hi\n", 1700000000000),
            R"({"type":"message","id":"n-1","room":"lobby","from":{"id":"u1","name":"Ada \"A\""},)"
            R"("body":"hi\n","sent_at":1700000000000})");
  EXPECT_EQ(direct_message("n-2", "lobby", ada(), "u2", "psst", 5),
            R"({"type":"direct","id":"n-2","room":"lobby","from":{"id":"u1","name":"Ada \"A\""},)"
            R"("to":"u2","body":"psst","sent_at":5})");
  EXPECT_EQ(signal_message("lobby", ada(), "u2", R"({"sdp":"x"})"),
            R"({"type":"signal","room":"lobby","from":{"id":"u1","name":"Ada \"A\""},"to":"u2","signal":{"sdp":"x"}})");
  EXPECT_EQ(typing_message("lobby", ada()),
            R"({"type":"typing","room":"lobby","from":{"id":"u1","name":"Ada \"A\""}})");
}
