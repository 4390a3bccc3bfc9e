#include "auth/jwt.hpp"

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
  std::string none = base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(R"({"sub":"x"})") + ".";
  EXPECT_EQ(verify_jwt(none, "secret", 0).error, TokenError::kBadAlgorithm);
  // Tampered payload.
  auto dot = token.find('.');
  std::string tampered =
      token.substr(0, dot + 1) + base64url_encode(R"({"sub":"admin","name":"x"})") + token.substr(token.rfind('.'));
  EXPECT_EQ(verify_jwt(tampered, "secret", 1010).error, TokenError::kBadSignature);
}

TEST(Jwt, Base64Url) {
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(*base64url_decode("Zm9vYg"), "foob");
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zm9v+"));
}

TEST(Jwt, LeewayOnExpNbfIat) {
  JwtOptions o{"secret", "", 30, "", ""};
  auto token = sign_jwt_claims(R"({"sub":"u1","exp":1000,"nbf":900,"iat":900})", "secret");
  EXPECT_TRUE(verify_jwt(token, o, 1029).identity);  // expired 29 s ago: within the leeway
  EXPECT_EQ(verify_jwt(token, o, 1030).error, TokenError::kExpired);
  EXPECT_TRUE(verify_jwt(token, o, 870).identity);  // 30 s before nbf and iat
  EXPECT_EQ(verify_jwt(token, o, 869).error, TokenError::kNotYetValid);
  auto future = sign_jwt_claims(R"({"sub":"u1","iat":2000})", "secret");
  EXPECT_EQ(verify_jwt(future, o, 1969).error, TokenError::kIssuedInFuture);
  EXPECT_TRUE(verify_jwt(future, o, 1970).identity);
  o.leeway = 0;
  EXPECT_EQ(verify_jwt(token, o, 1000).error, TokenError::kExpired);
  EXPECT_TRUE(verify_jwt(token, o, 999).identity);
  // Claims that are not numbers make the token malformed.
  EXPECT_EQ(verify_jwt(sign_jwt_claims(R"({"sub":"u1","exp":"soon"})", "secret"), o, 0).error,
            TokenError::kMalformed);
}

TEST(Jwt, KeyRotationAcceptsBothSecrets) {
  JwtOptions o{"new-secret", "old-secret", 0, "", ""};
  auto old_token = sign_jwt({"u1", "A"}, "old-secret", 1000, 60);
  auto new_token = sign_jwt({"u2", "B"}, "new-secret", 1000, 60);
  EXPECT_EQ(verify_jwt(old_token, o, 1010).identity->id, "u1");
  EXPECT_EQ(verify_jwt(new_token, o, 1010).identity->id, "u2");
  EXPECT_EQ(verify_jwt(sign_jwt({"u3", "C"}, "third", 1000, 60), o, 1010).error, TokenError::kBadSignature);
  o.previous_secret.clear();
  EXPECT_EQ(verify_jwt(old_token, o, 1010).error, TokenError::kBadSignature);
}

TEST(Jwt, IssuerAndAudience) {
  JwtOptions o{"secret", "", 0, "https://app.example", "peercable"};
  auto sign = [](std::string_view claims) { return sign_jwt_claims(claims, "secret"); };
  EXPECT_TRUE(verify_jwt(sign(R"({"sub":"1","iss":"https://app.example","aud":"peercable"})"), o, 0).identity);
  EXPECT_TRUE(verify_jwt(sign(R"({"sub":"1","iss":"https://app.example","aud":["x","peercable"]})"), o, 0).identity);
  EXPECT_EQ(verify_jwt(sign(R"({"sub":"1","iss":"https://evil.example","aud":"peercable"})"), o, 0).error,
            TokenError::kBadIssuer);
  EXPECT_EQ(verify_jwt(sign(R"({"sub":"1","aud":"peercable"})"), o, 0).error, TokenError::kBadIssuer);
  EXPECT_EQ(verify_jwt(sign(R"({"sub":"1","iss":"https://app.example","aud":"other"})"), o, 0).error,
            TokenError::kBadAudience);
  EXPECT_EQ(verify_jwt(sign(R"({"sub":"1","iss":"https://app.example","aud":["other"]})"), o, 0).error,
            TokenError::kBadAudience);
  EXPECT_EQ(verify_jwt(sign(R"({"sub":"1","iss":"https://app.example"})"), o, 0).error, TokenError::kBadAudience);
  // Not configured: not checked.
  JwtOptions plain{"secret", "", 0, "", ""};
  EXPECT_TRUE(verify_jwt(sign(R"({"sub":"1","iss":"anyone","aud":"any"})"), plain, 0).identity);
}

TEST(Jwt, GuestFlagAndRoomGrants) {
  Identity guest{"g_1", "Guest"};
  guest.guest = true;
  auto r = verify_jwt(sign_jwt(guest, "secret", 1000, 60), "secret", 1010);
  ASSERT_TRUE(r.identity);
  EXPECT_TRUE(r.identity->guest);
  EXPECT_TRUE(r.identity->rooms.empty());

  r = verify_jwt(sign_jwt_claims(R"({"sub":"u2","rooms":["team-*","ops"]})", "secret"), "secret", 0);
  ASSERT_TRUE(r.identity);
  EXPECT_FALSE(r.identity->guest);
  EXPECT_EQ(r.identity->rooms, (std::vector<std::string>{"team-*", "ops"}));

  // A malformed grant refuses the token rather than being half-read.
  std::string many = "[";
  for (std::size_t i = 0; i <= kMaxIdentityRooms; ++i) many += std::string(i ? "," : "") + "\"r" + std::to_string(i) + "\"";
  many += "]";
  for (const std::string& rooms : {std::string("\"ops\""), std::string("[1]"), std::string("[\"\"]"),
                                   "[\"" + std::string(kMaxRoomPatternBytes + 1, 'x') + "\"]", many}) {
    SCOPED_TRACE(rooms);
    EXPECT_FALSE(verify_jwt(sign_jwt_claims(R"({"sub":"u3","rooms":)" + rooms + "}", "secret"), "secret", 0).identity);
  }
}
