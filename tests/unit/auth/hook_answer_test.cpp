#include "auth/hook_answer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace peercable::auth;

TEST(HookAnswer, AcceptsAnIdentity) {
  auto a = read_hook_answer(200, R"({"id":"42","name":"Alice","role":"admin"})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.id, "42");
  EXPECT_EQ(a.identity.name, "Alice");

  a = read_hook_answer(200, R"({"id":7})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.id, "7");
  EXPECT_EQ(a.identity.name, "7");

  a = read_hook_answer(200, R"({"id":-3,"name":null})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.name, "-3");

  a = read_hook_answer(200, R"({"id":18446744073709551615,"name":""})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.id, "18446744073709551615");

  // 40 characters, 80 bytes: the limit counts characters.
  std::string name;
  for (int i = 0; i < 40; ++i) name += "é";
  a = read_hook_answer(200, R"({"id":"x","name":")" + name + "\"}");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.name, name);

  a = read_hook_answer(200, R"({"id":")" + std::string(128, 'i') + "\"}");
  EXPECT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
}

TEST(HookAnswer, RefusalsAreTheAppsExplicitNo) {
  for (unsigned status : {401u, 403u}) {
    auto a = read_hook_answer(status, R"({"id":"42"})");
    EXPECT_EQ(a.kind, HookAnswerKind::kRefused);
    EXPECT_EQ(a.reason, "the app refused (" + std::to_string(status) + ")");
  }
}

TEST(HookAnswer, EverythingElseIsInvalid) {
  struct Case {
    unsigned status;
    std::string body;
    const char* reason;
  };
  std::string long_name;
  for (int i = 0; i < 41; ++i) long_name += "é";
  const Case cases[] = {
      {500, R"({"id":"42"})", "the app answered 500"},
      {302, "", "the app answered 302"},
      {404, "", "the app answered 404"},
      {200, "", "not JSON"},
      {200, "<html>", "not JSON"},
      {200, R"({"id":"42")", "not JSON"},
      {200, "{\"id\":\"\xff\"}", "not JSON"},
      {200, R"(["42"])", "not a JSON object"},
      {200, R"({"name":"Alice"})", "has no id"},
      {200, R"({"id":1.5})", "neither a string nor an integer"},
      {200, R"({"id":true})", "neither a string nor an integer"},
      {200, R"({"id":""})", "id is empty"},
      {200, R"({"id":")" + std::string(129, 'i') + "\"}", "longer than 128 bytes"},
      {200, R"({"id":"a\nb"})", "id contains control characters"},
      {200, R"({"id":"1","name":5})", "name is not a string"},
      {200, R"({"id":"1","name":"a\u0007"})", "name contains control characters"},
      {200, R"({"id":"1","name":")" + long_name + "\"}", "longer than 40 characters"},
      {200, R"({"id":")" + std::string(17000, 'i') + "\"}", "larger than 16 KiB"},
  };
  for (const auto& c : cases) {
    auto a = read_hook_answer(c.status, c.body);
    EXPECT_EQ(a.kind, HookAnswerKind::kInvalid) << c.body.substr(0, 80);
    EXPECT_NE(a.reason.find(c.reason), std::string::npos) << a.reason;
  }
}

TEST(HookAnswer, RoomGrants) {
  auto a = read_hook_answer(200, R"({"id":"42","rooms":["team-*"]})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.rooms, std::vector<std::string>{"team-*"});
  a = read_hook_answer(200, R"({"id":"42","rooms":null})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_TRUE(a.identity.rooms.empty());
  a = read_hook_answer(200, R"({"id":"42","rooms":"team"})");
  EXPECT_EQ(a.kind, HookAnswerKind::kInvalid);
}
