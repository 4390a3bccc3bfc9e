// Query strings and percent-decoding of request targets.
#include "http/query.hpp"

#include <gtest/gtest.h>

using peercable::http::percent_decode;
using peercable::http::query_param;

TEST(PercentDecode, EscapesPlusAndNul) {
  EXPECT_EQ(percent_decode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("%e2%9c%93", false), "\xe2\x9c\x93");
  EXPECT_FALSE(percent_decode("%zz", false));
  EXPECT_FALSE(percent_decode("abc%4", false));
  EXPECT_FALSE(percent_decode("abc%", false));
  EXPECT_FALSE(percent_decode("a%00b", false));
  EXPECT_EQ(percent_decode("a%00b", false, true), std::string("a\0b", 3));
}

TEST(QueryParam, FirstMatchDecoded) {
  EXPECT_EQ(query_param("token=a.b_c-d&sid=42", "sid"), "42");
  EXPECT_EQ(query_param("token=a+b%2Bc", "token"), "a b+c");
  EXPECT_EQ(query_param("x=1&token=first&token=second", "token"), "first");
  EXPECT_EQ(query_param("flag&token", "token"), "");
  EXPECT_FALSE(query_param("tokens=1&tok=2", "token"));
  EXPECT_FALSE(query_param("", "token"));
  EXPECT_FALSE(query_param("token=%zz", "token"));
  // Characters browsers leave unescaped in a query do not hide the parameter asked for.
  EXPECT_EQ(query_param("a=x|y{z}&token=t", "token"), "t");
  EXPECT_EQ(query_param("a=%zz&token=t", "token"), "t");
}
