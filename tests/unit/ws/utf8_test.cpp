#include "ws/utf8.hpp"

#include <gtest/gtest.h>

using peercable::ws::is_valid_utf8;
using peercable::ws::Utf8Validator;

TEST(Utf8, AcceptsValidText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("hello, world"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));                      // U+10FFFF
  EXPECT_TRUE(is_valid_utf8("\xed\x9f\xbf"));                          // U+D7FF
}

TEST(Utf8, RejectsInvalidSequences) {
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\x80"));  // lone continuation
  EXPECT_FALSE(is_valid_utf8("\xc3"));  // truncated
  EXPECT_FALSE(
      is_valid_utf8("abc\xce\xba\xed\xa0\x80"
                    "edited"));
}

TEST(Utf8, CarriesStateAcrossPieces) {
  Utf8Validator v;
  EXPECT_TRUE(v.feed("\xf0\x9f"));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.feed("\x98\x80"));
  EXPECT_TRUE(v.complete());
  Utf8Validator bad;
  EXPECT_TRUE(bad.feed("\xe0"));
  EXPECT_FALSE(bad.feed("\x80"));  // E0 80 is overlong, detected at the second piece
}

TEST(Utf8, PrefixNeverSplitsASequence) {
  using peercable::ws::utf8_prefix;
  EXPECT_EQ(utf8_prefix("abc", 10), "abc");
  EXPECT_EQ(utf8_prefix("ab\xc3\xa9", 3), "ab");  // é would be cut in half
  EXPECT_EQ(utf8_prefix("ab\xc3\xa9", 4), "ab\xc3\xa9");
  EXPECT_EQ(utf8_prefix("\xf0\x9f\x98\x80z", 3), "");
}

// The whole-buffer check (simdjson) and the streaming validator must agree on every input, wherever the
// stream is cut.
TEST(Utf8, WholeBufferAndStreamingAgree) {
  const std::string_view cases[] = {
      "",
      "plain ascii text, longer than eight bytes",
      "\xc3\xa9",
      "\xe2\x82\xac",
      "\xf0\x9f\x98\x80",
      "\xf4\x8f\xbf\xbf",
      "\xed\x9f\xbf",
      "\xee\x80\x80",
      "\xc0\xaf",
      "\xc1\xbf",
      "\xe0\x80\xaf",
      "\xe0\x9f\xbf",
      "\xed\xa0\x80",
      "\xed\xbf\xbf",
      "\xf0\x8f\xbf\xbf",
      "\xf4\x90\x80\x80",
      "\xf5\x80\x80\x80",
      "\xff",
      "\x80",
      "\xc3",
      "\xe2\x82",
      "\xf0\x9f\x98",
      "abcdefgh\xc3\xa9ijklmnop\xf0\x9f\x98\x80",
      "abcdefgh\xed\xa0\x80ijklmnop",
  };
  for (std::string_view s : cases) {
    const bool whole = is_valid_utf8(s);
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
      Utf8Validator v;
      const bool ok = v.feed(s.substr(0, cut)) && v.feed(s.substr(cut)) && v.complete();
      EXPECT_EQ(ok, whole) << "input of " << s.size() << " bytes cut at " << cut;
    }
  }
}
