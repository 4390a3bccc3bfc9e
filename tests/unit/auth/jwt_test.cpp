#include "auth/jwt.hpp"

#include "auth/encoding.hpp"

#include <gtest/gtest.h>

using namespace peercable::auth;

TEST(Jwt, SignsAndVerifies) {
  auto token = sign_jwt({"u1", "Alice"}, "secret", 1000, 60);
  auto r = verify_jwt(token, "secret", 1010);
  ASSERT_TRUE(r.identity);
  EXPECT_EQ(r.identity->id, "u1");
  EXPECT_EQ(r.identity->name, "Alice");
}

TEST(Jwt, Refusals) {
  auto token = sign_jwt({"u1", "Alice"}, "secret", 1000, 60);
  EXPECT_EQ(verify_jwt(token, "other", 1010).error, TokenError::kBadSignature);
  EXPECT_EQ(verify_jwt(token, "secret", 1060).error, TokenError::kExpired);
  EXPECT_EQ(verify_jwt("", "secret", 0).error, TokenError::kMalformed);
  EXPECT_EQ(verify_jwt("a.b", "secret", 0).error, TokenError::kMalformed);
  EXPECT_EQ(verify_jwt("a.b.c.d", "secret", 0).error, TokenError::kMalformed);
  EXPECT_EQ(verify_jwt("!!!.???.***", "secret", 0).error, TokenError::kMalformed);
  // alg "none" is never accepted.
  std::string none = base64_encode(R"({"alg":"none"})", true) + "." + base64_encode(R"({"sub":"x"})", true) + ".";
  EXPECT_EQ(verify_jwt(none, "secret", 0).error, TokenError::kBadAlgorithm);
  // Tampered payload.
  auto dot = token.find('.');
  std::string tampered =
      token.substr(0, dot + 1) + base64_encode(R"({"sub":"admin","name":"x"})", true) + token.substr(token.rfind('.'));
  EXPECT_EQ(verify_jwt(tampered, "secret", 1010).error, TokenError::kBadSignature);
}
