#include "auth/turn_credentials.hpp"

#include <gtest/gtest.h>

using namespace peercable::auth;

TEST(TurnCredentials, UsernameIsExpiryThenUser) {
  auto c = mint_turn_credentials("secret", "g_0123", 1700000000, 3600);
  EXPECT_EQ(c.username, "1700003600:g_0123");
  EXPECT_EQ(c.expires_at, 1700003600);
}

TEST(TurnCredentials, PasswordIsBase64HmacSha1OfUsername) {
  // Reference value: printf '1700003600:g_0123' | openssl dgst -sha1 -hmac secret -binary | base64
  auto c = mint_turn_credentials("secret", "g_0123", 1700000000, 3600);
  EXPECT_EQ(c.credential, "etLWHO8w7VoTKOOFmTX9DulRlE4=");
  EXPECT_EQ(c.credential.size(), 28u);  // 20 bytes of SHA-1 in base64
}

TEST(TurnCredentials, DependsOnSecretUserAndTime) {
  auto a = mint_turn_credentials("secret", "u1", 100, 60);
  EXPECT_NE(a.credential, mint_turn_credentials("other", "u1", 100, 60).credential);
  EXPECT_NE(a.credential, mint_turn_credentials("secret", "u2", 100, 60).credential);
  EXPECT_NE(a.credential, mint_turn_credentials("secret", "u1", 101, 60).credential);
}
