#include "ws/frame_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ws/frame_encoder.hpp"

using namespace peercable::ws;

namespace {

struct Recorder : FrameHandler {
  std::vector<std::string> events;
  std::uint16_t error = 0;
  void on_message(Opcode op, std::string_view p) override {
    events.push_back((op == Opcode::kText ? "text:" : "binary:") + std::string(p));
  }
  void on_ping(std::string_view p) override { events.push_back("ping:" + std::string(p)); }
  void on_pong(std::string_view p) override { events.push_back("pong:" + std::string(p)); }
  void on_close(std::uint16_t code, std::string_view r) override {
    events.push_back("close:" + std::to_string(code) + ":" + std::string(r));
  }
  void on_protocol_error(std::uint16_t code, std::string_view) override { error = code; }
};

// A client frame: masked with a fixed key unless `mask` is false.
std::string frame(std::uint8_t first, std::string_view payload, bool mask = true) {
  std::string out;
  out += static_cast<char>(first);
  std::size_t n = payload.size();
  char m = mask ? static_cast<char>(0x80) : 0;
  if (n < 126) {
    out += static_cast<char>(m | static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out += static_cast<char>(m | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xFF);
  } else {
    out += static_cast<char>(m | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xFF);
  }
  const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  if (mask) out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < n; ++i) out += mask ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i];
  return out;
}

Recorder run(std::string bytes, ParserOptions opts = {}) {
  Recorder r;
  FrameParser p(opts);
  std::size_t used = p.parse(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size(), r);
  (void)used;
  return r;
}

std::uint16_t error_of(std::string bytes, ParserOptions opts = {}) {
  return run(std::move(bytes), opts).error;
}

}  // namespace

// RFC 6455 §5.7 examples.
TEST(FrameParser, Rfc6455MaskedHello) {
  auto r = run(std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0], "text:Hello");
}

TEST(FrameParser, Rfc6455UnmaskedHelloWhenMaskNotRequired) {
  ParserOptions o;
  o.require_mask = false;
  auto r = run(std::string("\x81\x05Hello", 7), o);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0], "text:Hello");
}

TEST(FrameParser, Rfc6455FragmentedHello) {
  ParserOptions o;
  o.require_mask = false;
  auto r = run(std::string("\x01\x03Hel\x80\x02lo", 9), o);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0], "text:Hello");
}

TEST(FrameParser, Rfc6455PingAndMaskedPong) {
  ParserOptions o;
  o.require_mask = false;
  auto r = run(std::string("\x89\x05Hello", 7) + std::string("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11), o);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0], "ping:Hello");
  EXPECT_EQ(r.events[1], "pong:Hello");
}

TEST(FrameParser, Rfc6455ExtendedLengths) {
  std::string b256(256, 'x'), b64k(65536, 'y');
  auto r = run(frame(0x82, b256) + frame(0x82, b64k));
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0], "binary:" + b256);
  EXPECT_EQ(r.events[1], "binary:" + b64k);
}

TEST(FrameParser, ByteByByteInput) {
  std::string all = frame(0x01, "Hel") + frame(0x89, "p") + frame(0x80, "lo");
  Recorder r;
  FrameParser p;
  std::string buf;
  for (char c : all) {
    buf += c;
    std::size_t used = p.parse(reinterpret_cast<std::uint8_t*>(buf.data()), buf.size(), r);
    buf.erase(0, used);
  }
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0], "ping:p");  // a control frame may come between fragments
  EXPECT_EQ(r.events[1], "text:Hello");
  EXPECT_EQ(r.error, 0);
}

TEST(FrameParser, CloseFrames) {
  auto r = run(frame(0x88, std::string("\x03\xe8"
                                       "bye",
                                       5)));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0], "close:1000:bye");
  auto empty = run(frame(0x88, ""));
  EXPECT_EQ(empty.events[0], "close:1005:");
}

TEST(FrameParser, NothingIsParsedAfterClose) {
  auto r = run(frame(0x88, "") + frame(0x81, "late"));
  EXPECT_EQ(r.events.size(), 1u);
}

TEST(FrameParser, ProtocolErrors) {
  EXPECT_EQ(error_of(frame(0x81, "x", false)), close_code::kProtocolError);  // unmasked
  EXPECT_EQ(error_of(frame(0xC1, "x")), close_code::kProtocolError);         // RSV1 without deflate
  EXPECT_EQ(error_of(frame(0xA1, "x")), close_code::kProtocolError);         // RSV2
  EXPECT_EQ(error_of(frame(0x91, "x")), close_code::kProtocolError);         // RSV3
  for (std::uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF})
    EXPECT_EQ(error_of(frame(static_cast<std::uint8_t>(0x80 | op), "x")), close_code::kProtocolError) << int(op);
  EXPECT_EQ(error_of(frame(0x09, "x")), close_code::kProtocolError);                         // fragmented ping
  EXPECT_EQ(error_of(frame(0x89, std::string(126, 'x'))), close_code::kProtocolError);       // control > 125
  EXPECT_EQ(error_of(frame(0x80, "x")), close_code::kProtocolError);                         // continuation first
  EXPECT_EQ(error_of(frame(0x01, "a") + frame(0x81, "b")), close_code::kProtocolError);      // new msg mid-fragment
  EXPECT_EQ(error_of(frame(0x88, "\x03")), close_code::kProtocolError);                      // 1-byte close
  EXPECT_EQ(error_of(frame(0x88, std::string("\x03\xed", 2))), close_code::kProtocolError);  // 1005
  EXPECT_EQ(error_of(frame(0x88, std::string("\x00\x00", 2))), close_code::kProtocolError);  // 0
  EXPECT_EQ(error_of(frame(0x88, std::string("\x03\xee", 2))), close_code::kProtocolError);  // 1006
  EXPECT_EQ(error_of(frame(0x88, std::string("\x0b\xb8", 2))), 0);                           // 3000 is fine
  std::string huge("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10);                          // 64-bit MSB set
  EXPECT_EQ(error_of(huge), close_code::kProtocolError);
}

TEST(FrameParser, InvalidUtf8) {
  EXPECT_EQ(error_of(frame(0x81, "\xc0\xaf")), close_code::kInvalidPayload);
  EXPECT_EQ(error_of(frame(0x81, "ok\xed\xa0\x80")), close_code::kInvalidPayload);
  // Split across fragments: the bad byte is in the second fragment.
  EXPECT_EQ(error_of(frame(0x01, "\xf0\x9f") + frame(0x80, "\x28\x80")), close_code::kInvalidPayload);
  // Truncated at the end of the message.
  EXPECT_EQ(error_of(frame(0x01, "a") + frame(0x80, "\xe2\x82")), close_code::kInvalidPayload);
  // A valid code point split across fragments is fine.
  auto ok = run(frame(0x01, "\xf0\x9f") + frame(0x80, "\x98\x80"));
  EXPECT_EQ(ok.error, 0);
  EXPECT_EQ(ok.events[0], "text:\xf0\x9f\x98\x80");
  EXPECT_EQ(error_of(frame(0x88, "\x03\xe8\xff")), close_code::kInvalidPayload);  // close reason
  EXPECT_EQ(error_of(frame(0x82, "\xff")), 0);                                    // binary is not checked
}

TEST(FrameParser, InvalidUtf8FailsFastBeforeTheMessageEnds) {
  Recorder r;
  FrameParser p;
  std::string first = frame(0x01, "\xff");
  p.parse(reinterpret_cast<std::uint8_t*>(first.data()), first.size(), r);
  EXPECT_EQ(r.error, close_code::kInvalidPayload);
}

TEST(FrameParser, MessageSizeLimit) {
  ParserOptions o;
  o.max_message_size = 10;
  EXPECT_EQ(error_of(frame(0x81, std::string(11, 'x')), o), close_code::kMessageTooBig);
  EXPECT_EQ(error_of(frame(0x01, std::string(6, 'x')) + frame(0x80, std::string(6, 'x')), o),
            close_code::kMessageTooBig);
  EXPECT_EQ(error_of(frame(0x81, std::string(10, 'x')), o), 0);
  // Refused from the header alone: no payload bytes need to arrive.
  Recorder r;
  FrameParser p(o);
  std::string head("\x82\xff\x00\x00\x00\x00\x10\x00\x00\x00", 10);
  p.parse(reinterpret_cast<std::uint8_t*>(head.data()), head.size(), r);
  EXPECT_EQ(r.error, close_code::kMessageTooBig);
}

TEST(FrameParser, DeflatedMessages) {
  DeflateParams params;
  Deflater d(params);
  std::string z;
  ASSERT_TRUE(d.deflate_message("Hello, compressed world! Hello, compressed world!", z));
  FrameParser p;
  p.enable_deflate(params);
  Recorder r;
  std::string bytes = frame(0xC1, z);
  p.parse(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size(), r);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0], "text:Hello, compressed world! Hello, compressed world!");
  // Context takeover: a second message referring back to the first still inflates.
  std::string z2;
  ASSERT_TRUE(d.deflate_message("Hello, compressed world!", z2));
  bytes = frame(0xC1, z2);
  p.parse(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size(), r);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[1], "text:Hello, compressed world!");
}

TEST(FrameParser, DeflateBombIsRefused) {
  DeflateParams params;
  Deflater d(params);
  std::string z;
  ASSERT_TRUE(d.deflate_message(std::string(1 << 20, 'a'), z));
  ParserOptions o;
  o.max_message_size = 64 * 1024;
  FrameParser p(o);
  p.enable_deflate(params);
  Recorder r;
  std::string bytes = frame(0xC2, z);
  p.parse(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size(), r);
  EXPECT_EQ(r.error, close_code::kMessageTooBig);
}

TEST(FrameParser, CorruptDeflateData) {
  FrameParser p;
  p.enable_deflate(DeflateParams{});
  Recorder r;
  std::string bytes = frame(0xC1, "\xff\xff\xff\xff garbage");
  p.parse(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size(), r);
  EXPECT_EQ(r.error, close_code::kInvalidPayload);
}

TEST(FrameEncoder, HeaderSizes) {
  EXPECT_EQ(encode_frame(Opcode::kText, "Hello"), std::string("\x81\x05Hello", 7));
  EXPECT_EQ(encode_frame(Opcode::kBinary, std::string(256, 'x')).substr(0, 4), std::string("\x82\x7e\x01\x00", 4));
  EXPECT_EQ(encode_frame(Opcode::kBinary, std::string(65536, 'x')).substr(0, 10),
            std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  EXPECT_EQ(encode_close(1000), std::string("\x88\x02\x03\xe8", 4));
  EXPECT_EQ(encode_close(close_code::kNoStatus), std::string("\x88\x00", 2));
}
