#include "cable/broadcast.hpp"

#include <gtest/gtest.h>

using namespace peercable;

// A broadcast is compressed once, whichever loop asks first, and every deflate subscriber shares that frame.
TEST(Broadcast, CompressedOnceAndShared) {
  std::string body(400, 'x');
  cable::Broadcast b("room:lobby", R"({"type":"message","body":")" + body + R"("})");
  ws::SharedDeflate loop_a({}, 128), loop_b({}, 128);
  const std::string id = R"({"channel":"P2PChannel","room":"lobby"})";
  auto z1 = b.deflated_frame_for(id, loop_a);
  ASSERT_TRUE(z1);
  EXPECT_EQ(b.deflated_frame_for(id, loop_b), z1);
  EXPECT_LT(z1->size(), b.frame_for(id)->size());
  std::string_view payload(*z1);
  payload.remove_prefix((static_cast<unsigned char>(payload[1]) & 0x7F) == 126 ? 4 : 2);
  ws::Inflater inflater(15, true);
  std::string back;
  ASSERT_EQ(inflater.inflate_message(payload, 1 << 20, back), ws::Inflater::Result::kOk);
  EXPECT_EQ(back, cable::envelope(id, b.payload()));
}

TEST(Broadcast, ShortBroadcastsAreNotCompressed) {
  cable::Broadcast b("s", R"({"n":1})");
  ws::SharedDeflate z({}, 128);
  EXPECT_FALSE(b.deflated_frame_for("{}", z));
  EXPECT_TRUE(b.frame_for("{}"));
}
