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

TEST(Command, ReadsTheExtendedProtocolsCommands) {
  auto h = parse_command(
      R"({"command":"history","identifier":"x","history":{"since":1700000000,"streams":{"a":{"epoch":"e1","offset":7}}}})");
  ASSERT_TRUE(h.command);
  EXPECT_EQ(h.command->kind, Command::Kind::kHistory);
  ASSERT_TRUE(h.command->history);
  EXPECT_EQ(h.command->history->since, 1700000000);
  ASSERT_EQ(h.command->history->streams.size(), 1u);
  EXPECT_EQ(h.command->history->streams[0].stream, "a");
  EXPECT_EQ(h.command->history->streams[0].epoch, "e1");
  EXPECT_EQ(h.command->history->streams[0].offset, 7u);
  auto s = parse_command(R"({"command":"subscribe","identifier":"x","history":{"since":5,"streams":{}}})");
  ASSERT_TRUE(s.command && s.command->history);
  EXPECT_FALSE(s.command->history_malformed);
  auto w = parse_command(R"({"command":"whisper","identifier":"x","data":{ "typing" : true }})");
  ASSERT_TRUE(w.command);
  EXPECT_EQ(w.command->data, R"({"typing":true})");
  EXPECT_EQ(parse_command(R"({"command":"whisper","identifier":"x","data":"str"})").error, CommandError::kBadData);
  auto p = parse_command(R"({"command":"pong"})");
  ASSERT_TRUE(p.command);
  EXPECT_EQ(p.command->kind, Command::Kind::kPong);
}

TEST(Command, MalformedHistoryIsMarkedNotDropped) {
  for (const char* bad : {
           R"("yesterday")", R"({"since":-1})", R"({"since":"1"})", R"({"streams":[]})",
           R"({"streams":{"a":{"offset":1}}})", R"({"streams":{"a":{"epoch":"e","offset":-1}}})",
           R"({"streams":{"a":{"epoch":"e","offset":1.5}}})", R"({"streams":{"a":{"epoch":"","offset":1}}})",
           R"({"streams":{"":{"epoch":"e","offset":1}}})"}) {
    auto c = parse_command(std::string(R"({"command":"history","identifier":"x","history":)") + bad + "}");
    ASSERT_TRUE(c.command) << bad;
    EXPECT_TRUE(c.command->history_malformed) << bad;
    EXPECT_FALSE(c.command->history) << bad;
  }
  auto none = parse_command(R"({"command":"history","identifier":"x"})");
  ASSERT_TRUE(none.command);
  EXPECT_TRUE(none.command->history_malformed);
  // A huge offset is well-formed; the stream log refuses it.
  auto huge = parse_command(
      R"({"command":"history","identifier":"x","history":{"streams":{"a":{"epoch":"e","offset":18446744073709551615}}}})");
  ASSERT_TRUE(huge.command && huge.command->history);
  EXPECT_EQ(huge.command->history->streams[0].offset, UINT64_MAX);
}
