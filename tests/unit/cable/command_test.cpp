#include "cable/command.hpp"

#include <gtest/gtest.h>

using namespace peercable::cable;

TEST(Command, ParsesTheThreeCommands) {
  auto s = parse_command(R"({"command":"subscribe","identifier":"{\"channel\":\"P2PChannel\",\"room\":\"lobby\"}"})");
  ASSERT_TRUE(s.command);
  EXPECT_EQ(s.command->kind, Command::Kind::kSubscribe);
  EXPECT_EQ(s.command->identifier, R"({"channel":"P2PChannel","room":"lobby"})");
  auto m = parse_command(R"({"command":"message","identifier":"{}","data":"{\"action\":\"speak\"}"})");
  ASSERT_TRUE(m.command);
  EXPECT_EQ(m.command->data, R"({"action":"speak"})");
  auto u = parse_command(R"({"command":"unsubscribe","identifier":"x"})");
  ASSERT_TRUE(u.command);
  EXPECT_EQ(u.command->kind, Command::Kind::kUnsubscribe);
}

// The bad inputs of the Rails transcripts, each ignored.
TEST(Command, IgnoresWhatRailsIgnores) {
  EXPECT_EQ(parse_command("this is not json").error, CommandError::kInvalidJson);
  EXPECT_EQ(parse_command(R"({"command":"subscribe",)").error, CommandError::kInvalidJson);
  EXPECT_EQ(parse_command("[1,2,3]").error, CommandError::kNotAnObject);
  EXPECT_EQ(parse_command("null").error, CommandError::kNotAnObject);
  EXPECT_EQ(parse_command(R"("just a string")").error, CommandError::kNotAnObject);
  EXPECT_EQ(parse_command(R"({"command":"foo","identifier":"x"})").error, CommandError::kUnknownCommand);
  EXPECT_EQ(parse_command(R"({"identifier":"x"})").error, CommandError::kUnknownCommand);
  EXPECT_EQ(parse_command(R"({"command":"subscribe"})").error, CommandError::kBadIdentifier);
  EXPECT_EQ(parse_command(R"({"command":"subscribe","identifier":{"channel":"P2PChannel"}})").error,
            CommandError::kBadIdentifier);
  EXPECT_EQ(parse_command(R"({"command":"message","identifier":"x","data":{"action":"speak"}})").error,
            CommandError::kBadData);
  EXPECT_FALSE(parse_command("").command);
}
