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

TEST(Broadcast, EnvelopeEscapesTheIdentifierAndSplicesThePayload) {
  EXPECT_EQ(cable::envelope(R"({"channel":"C"})", R"({"a":[1]})"),
            R"({"identifier":"{\"channel\":\"C\"}","message":{"a":[1]}})");
  EXPECT_EQ(cable::ext_envelope("id", "2", "s", "e1", 7),
            R"({"identifier":"id","message":2,"stream_id":"s","epoch":"e1","offset":7})");
}

TEST(Broadcast, OneFramePerIdentifierBuiltOnce) {
  cable::Broadcast b("s", R"({"n":1})");
  auto a1 = b.frame_for("a");
  EXPECT_EQ(b.frame_for("a"), a1);  // cached: the same shared frame
  auto other = b.frame_for("b");
  EXPECT_NE(other, a1);
  EXPECT_EQ(*a1, ws::encode_frame(ws::Opcode::kText, cable::envelope("a", R"({"n":1})")));
  EXPECT_EQ(*other, ws::encode_frame(ws::Opcode::kText, cable::envelope("b", R"({"n":1})")));
}

TEST(Broadcast, ExtendedFramesCarryThePositionWhenThereIsOne) {
  cable::Broadcast unlogged("s", "1");
  EXPECT_EQ(unlogged.frame_for("a", true), unlogged.frame_for("a"));  // no position: one frame serves both
  cable::Broadcast logged("s", "1");
  logged.set_position(5, std::make_shared<const std::string>("ep"));
  auto ext = logged.frame_for("a", true);
  EXPECT_NE(ext, logged.frame_for("a"));
  EXPECT_EQ(*ext, ws::encode_frame(ws::Opcode::kText, cable::ext_envelope("a", "1", "s", "ep", 5)));
  EXPECT_EQ(logged.frame_for("a", true), ext);
}

TEST(Broadcast, LargeEnvelopesUseTheLongerLengthForms) {
  // 126..65535 bytes: a 16-bit length; the compressed frame is built from the plain frame's payload.
  cable::Broadcast b("s", "\"" + std::string(70000, 'y') + "\"");
  ws::SharedDeflate z({}, 128);
  auto plain = b.frame_for("id");
  EXPECT_EQ(static_cast<unsigned char>((*plain)[1]) & 0x7F, 127u);  // over 65535: a 64-bit length
  auto zf = b.deflated_frame_for("id", z);
  ASSERT_TRUE(zf);
  std::string_view payload(*zf);
  const unsigned len7 = static_cast<unsigned char>(payload[1]) & 0x7F;
  payload.remove_prefix(len7 == 126 ? 4 : len7 == 127 ? 10 : 2);
  ws::Inflater inflater(15, true);
  std::string back;
  ASSERT_EQ(inflater.inflate_message(payload, 1 << 20, back), ws::Inflater::Result::kOk);
  EXPECT_EQ(back, cable::envelope("id", b.payload()));
}
