#include "ws/shared_deflate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ws/frame_encoder.hpp"
#include "ws/frame_parser.hpp"

using namespace peercable::ws;

namespace {

struct Messages : FrameHandler {
  std::vector<std::string> texts;
  std::uint16_t error = 0;
  void on_message(Opcode, std::string_view p) override { texts.emplace_back(p); }
  void on_ping(std::string_view) override {}
  void on_pong(std::string_view) override {}
  void on_close(std::uint16_t, std::string_view) override {}
  void on_protocol_error(std::uint16_t code, std::string_view) override { error = code; }
};

// The payload of a server frame built by deflate_frame (unmasked, RSV1).
std::string_view payload_of(const std::string& frame) {
  const unsigned len7 = static_cast<unsigned char>(frame[1]) & 0x7F;
  return std::string_view(frame).substr(len7 == 126 ? 4 : len7 == 127 ? 10 : 2);
}

std::string chat(int i) {
  return R"({"identifier":"{\"channel\":\"P2PChannel\",\"room\":\"lobby\"}","message":{"type":"message","from":{"id":"u)" +
         std::to_string(i) + R"(","name":"Guest )" + std::to_string(i) + R"("},"body":"hello everyone, message )" +
         std::to_string(i) + R"(","at":1733300000}})";
}

}  // namespace

TEST(SharedDeflate, ShortMessagesStayPlain) {
  SharedDeflate z({}, 128);
  std::string frame;
  EXPECT_FALSE(z.deflate_frame(std::string(127, 'a'), 15, frame));
  EXPECT_TRUE(z.deflate_frame(std::string(128, 'a'), 15, frame));
  EXPECT_EQ(static_cast<unsigned char>(frame[0]), 0xC1);  // FIN, RSV1, text
}

TEST(SharedDeflate, IncompressibleMessagesStayPlain) {
  SharedDeflate z({}, 0);
  std::string noise;
  unsigned x = 12345;
  for (int i = 0; i < 300; ++i) noise += static_cast<char>((x = x * 1103515245 + 12345) >> 16);
  std::string frame;
  EXPECT_FALSE(z.deflate_frame(noise, 15, frame));
}

// Every message from the shared deflater stands alone: a fresh inflater with no history decodes each one,
// whichever came before, as a client told server_no_context_takeover expects.
TEST(SharedDeflate, EachMessageInflatesOnItsOwn) {
  SharedDeflate z({}, 0);
  for (int window : {15, 12, 9}) {
    for (int i = 0; i < 5; ++i) {
      std::string frame;
      ASSERT_TRUE(z.deflate_frame(chat(i), window, frame));
      Inflater fresh(window, false);
      std::string back;
      ASSERT_EQ(fresh.inflate_message(payload_of(frame), 1 << 20, back), Inflater::Result::kOk);
      EXPECT_EQ(back, chat(i));
    }
  }
}

// One inflater serves many connections' parsers, their messages interleaved and fragmented.
TEST(SharedDeflate, OneInflaterForManyParsers) {
  SharedDeflate z({}, 0);
  DeflateParams params;
  params.client_no_context_takeover = true;
  params.server_no_context_takeover = true;
  ParserOptions opts;
  opts.require_mask = false;
  FrameParser a(opts), b(opts);
  a.enable_deflate(params, &z.inflater());
  b.enable_deflate(params, &z.inflater());
  Messages ra, rb;
  for (int i = 0; i < 4; ++i) {
    std::string fa, fb;
    ASSERT_TRUE(z.deflate_frame(chat(i), 15, fa));
    ASSERT_TRUE(z.deflate_frame(chat(100 + i), 15, fb));
    // b's message arrives in two fragments around a's whole one.
    std::string_view pb = payload_of(fb);
    std::string first, second;
    append_frame_header(first, Opcode::kText, pb.size() / 2, false, true);
    first.append(pb.substr(0, pb.size() / 2));
    append_frame_header(second, Opcode::kContinuation, pb.size() - pb.size() / 2, true, false);
    second.append(pb.substr(pb.size() / 2));
    b.parse(reinterpret_cast<std::uint8_t*>(first.data()), first.size(), rb);
    a.parse(reinterpret_cast<std::uint8_t*>(fa.data()), fa.size(), ra);
    b.parse(reinterpret_cast<std::uint8_t*>(second.data()), second.size(), rb);
  }
  ASSERT_EQ(ra.error, 0);
  ASSERT_EQ(rb.error, 0);
  ASSERT_EQ(ra.texts.size(), 4u);
  ASSERT_EQ(rb.texts.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(ra.texts[static_cast<std::size_t>(i)], chat(i));
    EXPECT_EQ(rb.texts[static_cast<std::size_t>(i)], chat(100 + i));
  }
}

// A corrupt message on one connection leaves the shared inflater usable by the next.
TEST(SharedDeflate, CorruptInputDoesNotPoisonTheSharedInflater) {
  SharedDeflate z({}, 0);
  std::string back;
  EXPECT_EQ(z.inflater().inflate_message("\xff\xff\xff\xff garbage", 1 << 20, back), Inflater::Result::kCorrupt);
  std::string frame;
  ASSERT_TRUE(z.deflate_frame(chat(7), 15, frame));
  ASSERT_EQ(z.inflater().inflate_message(payload_of(frame), 1 << 20, back), Inflater::Result::kOk);
  EXPECT_EQ(back, chat(7));
  // And one over the size limit, cut off mid-stream.
  std::string big;
  ASSERT_TRUE(z.deflate_frame(std::string(200000, 'x'), 15, big));
  EXPECT_EQ(z.inflater().inflate_message(payload_of(big), 1000, back), Inflater::Result::kTooBig);
  ASSERT_EQ(z.inflater().inflate_message(payload_of(frame), 1 << 20, back), Inflater::Result::kOk);
  EXPECT_EQ(back, chat(7));
}

// With context takeover (opt-in) a parser makes its own inflater on the first compressed message.
TEST(SharedDeflate, TakeoverParsersInflateWithTheirOwnHistory) {
  DeflateParams params;  // takeover both ways
  Deflater d(params);
  ParserOptions opts;
  opts.require_mask = false;
  FrameParser p(opts);
  SharedDeflate z({}, 0);
  p.enable_deflate(params, &z.inflater());  // not used: the client keeps context
  Messages r;
  for (int i = 0; i < 3; ++i) {
    std::string payload, frame;
    ASSERT_TRUE(d.deflate_message(chat(1), payload));
    append_frame_header(frame, Opcode::kText, payload.size(), true, true);
    frame += payload;
    p.parse(reinterpret_cast<std::uint8_t*>(frame.data()), frame.size(), r);
  }
  ASSERT_EQ(r.error, 0);
  ASSERT_EQ(r.texts.size(), 3u);
  EXPECT_EQ(r.texts[2], chat(1));
}
