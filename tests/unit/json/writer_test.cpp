#include "json/writer.hpp"

#include <gtest/gtest.h>

using namespace peercable::json;

namespace {
std::string reencode(const std::string& in) {
  simdjson::dom::parser p;
  simdjson::dom::element e = p.parse(in).value();
  std::string out;
  append_value(out, e);
  return out;
}
std::string dbl(double d) {
  std::string out;
  append_double(out, d);
  return out;
}
}  // namespace

// The exact frame Rails 6.1 sent for this payload (shared/protocol/rails-6.1-transcripts.md).
TEST(JsonWriter, MatchesActiveSupportEncoding) {
  std::string in = R"({"action":"echo","s":"<b>&amp;</b> ' \" \\ / é 😀 )"
                   "\u2028 \u2029 \\u0001 \\t"
                   R"(","n":1.5,"big":12345678901234567000,"f":1e21,"t":true,"z":null,"a":[]})";
  EXPECT_EQ(
      reencode(in),
      R"({"action":"echo","s":"\u003cb\u003e\u0026amp;\u003c/b\u003e ' \" \\ / é 😀 \u2028 \u2029 \u0001 \t","n":1.5,"big":12345678901234567000,"f":1.0e+21,"t":true,"z":null,"a":[]})");
}

TEST(JsonWriter, FormatsFloatsLikeRuby) {
  EXPECT_EQ(dbl(1.5), "1.5");
  EXPECT_EQ(dbl(1e21), "1.0e+21");
  EXPECT_EQ(dbl(1e16), "1.0e+16");
  EXPECT_EQ(dbl(1e15), "1.0e+15");
  EXPECT_EQ(dbl(1234567890123456.0), "1.234567890123456e+15");
  EXPECT_EQ(dbl(1e14), "100000000000000.0");
  EXPECT_EQ(dbl(0.0001), "0.0001");
  EXPECT_EQ(dbl(0.00001), "1.0e-05");
  EXPECT_EQ(dbl(-2.0), "-2.0");
  EXPECT_EQ(dbl(0.0), "0.0");
  EXPECT_EQ(dbl(123.456), "123.456");
}

TEST(JsonWriter, EscapesControlCharacters) {
  std::string out;
  append_string(out, std::string("a\x00\x1f\b\f\n\r\t\"\\", 10));
  EXPECT_EQ(out, R"("a\u0000\u001f\b\f\n\r\t\"\\")");
}

TEST(JsonWriter, RepeatedKeysKeepFirstPositionAndLastValue) {
  EXPECT_EQ(reencode(R"({"action":"echo","dup":1,"x":0,"dup":2})"), R"({"action":"echo","dup":2,"x":0})");
  EXPECT_EQ(reencode(R"({"a":{"k":1,"k":[true]}})"), R"({"a":{"k":[true]}})");
}
