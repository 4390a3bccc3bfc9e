// Base64 in its three forms and hex: the one home of each.
#include "auth/encoding.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace peercable::auth;

TEST(Encoding, Base64RoundTrips) {
  for (const std::string& s :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\xff\xfe\x00\x01", 4)}) {
    EXPECT_EQ(base64_strict_decode(base64_encode(s)), s);
    EXPECT_EQ(base64_urlsafe_decode(base64_encode(s, true)), s);
    EXPECT_EQ(base64url_decode(base64_encode(s, true)), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("\xfb\xff", true), "-_8");
  EXPECT_FALSE(base64_strict_decode("Zm9vYmE"));
  EXPECT_FALSE(base64_strict_decode("Zm9vYm=="));  // unused bits set
  EXPECT_FALSE(base64_urlsafe_decode("Zm+v"));
}

TEST(Encoding, Base64StandardWithPadding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("\xff\xfe"), "//4=");
}

TEST(Encoding, Base64UrlUnpadded) {
  EXPECT_EQ(base64_encode("f", true), "Zg");
  EXPECT_EQ(base64_encode("fo", true), "Zm8");
  EXPECT_EQ(base64_encode("foo", true), "Zm9v");
  EXPECT_EQ(*base64url_decode("Zm9vYg"), "foob");
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zm9v+"));
  EXPECT_FALSE(base64url_decode("Zg=="));  // JWTs carry no padding
}

TEST(Encoding, Hex) {
  EXPECT_EQ(hex_encode(""), "");
  EXPECT_EQ(hex_encode("\x01\xab"), "01ab");
  EXPECT_EQ(hex_encode(std::string("\x00\xff", 2)), "00ff");
}
