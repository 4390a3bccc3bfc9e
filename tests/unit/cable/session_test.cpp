#include "cable/session.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "cable/broadcast.hpp"
#include "cable/session_fixture.hpp"

using namespace peercable;
using namespace peercable::testing;
using Strings = std::vector<std::string>;

namespace {
constexpr std::string_view kWelcome = R"({"type":"welcome"})";

// The value of `key` (a string) in the JSON object `json`.
std::string field(const std::string& json, const char* key) {
  simdjson::dom::parser parser;
  std::string_view v;
  if (parser.parse(json)[key].get(v)) return {};
  return std::string(v);
}
std::uint64_t offset_of(const std::string& json) {
  simdjson::dom::parser parser;
  std::uint64_t v = 0;
  if (parser.parse(json)["offset"].get(v)) return 0;
  return v;
}
}  // namespace

TEST(CableSession, WelcomesASignedInClient) {
  CableFixture f;
  auto c = f.connect();
  EXPECT_EQ(c->transport.take(), Strings{std::string(kWelcome)});
  EXPECT_FALSE(c->transport.close_code);
}

TEST(CableSession, RefusesAnUnauthorizedClientAsRailsDoes) {
  CableFixture f;
  f.auth_mode = ScriptedAuth::Mode::kRefuse;
  auto c = f.connect();
  EXPECT_EQ(c->transport.take(), Strings{R"({"type":"disconnect","reason":"unauthorized","reconnect":false})"});
  EXPECT_EQ(c->transport.close_code, ws::close_code::kNormal);
  EXPECT_EQ(f.loop().counters().unauthorized.load(), 1u);
}

TEST(CableSession, CommandsSentWhileSigningInWaitForTheWelcome) {
  CableFixture f;
  f.auth_mode = ScriptedAuth::Mode::kLater;
  auto c = f.connect();
  c->send(subscribe_command(identifier("a")));
  EXPECT_TRUE(c->transport.take().empty());
  auth::Verdict v;
  v.outcome = auth::Outcome::kAccepted;
  v.identity.id = "u1";
  f.auth_later(std::move(v));
  f.drain();
  EXPECT_EQ(c->transport.take(), (Strings{std::string(kWelcome), reply(identifier("a"), "confirm_subscription")}));
}

TEST(CableSession, SubscribeConfirmsOnceAndBroadcastsArrive) {
  CableFixture f;
  auto c = f.connect();
  c->transport.take();
  const std::string id = identifier("a");
  c->send(subscribe_command(id));
  c->send(subscribe_command(id));  // a client re-sending until confirmed: ignored
  f.drain();
  EXPECT_EQ(c->transport.take(), Strings{reply(id, "confirm_subscription")});
  EXPECT_EQ(f.channel().confirmed_count, 1);
  f.server().broadcast("test:a", R"({"n":1})");
  f.server().broadcast("test:b", R"({"n":2})");  // another stream: not ours
  f.drain();
  EXPECT_EQ(c->transport.take(), Strings{cable::envelope(id, R"({"n":1})")});
}

TEST(CableSession, RejectionsAndSilences) {
  CableFixture f;
  auto c = f.connect();
  c->transport.take();
  c->send(subscribe_command(identifier("closed")));  // the channel says no
  EXPECT_EQ(c->transport.take(), Strings{reply(identifier("closed"), "reject_subscription")});
  // As Rails: an unknown channel, a bad identifier, invalid JSON, an unknown command get no answer at all.
  c->send(subscribe_command(R"({"channel":"NoSuchChannel"})"));
  c->send(subscribe_command("not json"));
  c->send("{not json");
  c->send(R"({"command":"dance","identifier":"{}"})");
  c->send(R"({"command":"history","identifier":"{}"})");  // the extended protocol's, not this one's
  c->session->on_message(ws::Opcode::kBinary, subscribe_command(identifier("a")));  // binary: ignored
  f.drain();
  EXPECT_TRUE(c->transport.take().empty());
  EXPECT_FALSE(c->transport.close_code);
  // Still working after all that.
  c->send(subscribe_command(identifier("a")));
  EXPECT_EQ(c->transport.take(), Strings{reply(identifier("a"), "confirm_subscription")});
}

TEST(CableSession, UnsubscribeStopsTheStream) {
  CableFixture f;
  auto c = f.connect();
  auto other = f.connect("t2");
  const std::string id = identifier("a");
  c->send(subscribe_command(id));
  other->send(subscribe_command(id));
  c->send(unsubscribe_command(id));
  c->send(unsubscribe_command(id));  // not subscribed any more: nothing
  EXPECT_EQ(f.channel().unsubscribed_count, 1);
  c->transport.take();
  other->transport.take();
  f.server().broadcast("test:a", R"({"n":1})");
  f.drain();
  EXPECT_TRUE(c->transport.take().empty());
  EXPECT_EQ(other->transport.take(), Strings{cable::envelope(id, R"({"n":1})")});
}

TEST(CableSession, MessagesRunTheChannelsAction) {
  CableFixture f;
  auto c = f.connect();
  const std::string id = identifier("a");
  c->send(subscribe_command(id));
  c->transport.take();
  c->send(message_command(id, R"({"action":"echo","text":"hi"})"));
  c->send(message_command(id, R"({"text":"no action"})"));            // Action Cable's default: receive
  c->send(message_command(id, "[1,2]"));                              // not an object: ignored
  c->send(message_command(identifier("b"), R"({"action":"echo"})"));  // not subscribed: ignored
  EXPECT_EQ(f.channel().actions, (Strings{"echo", "receive"}));
  EXPECT_EQ(c->transport.take(), Strings{cable::envelope(id, R"({"echo":"hi"})")});
}

TEST(CableSession, LimitsOnCommandsAndSubscriptions) {
  CableFixture f;
  cable::SessionLimits limits;
  limits.subscriptions = 1;
  limits.commands_per_second = 1;  // a burst of two
  f.server().set_session_limits(limits);
  auto c = f.connect();
  c->transport.take();
  c->send(subscribe_command(identifier("a")));
  c->send(subscribe_command(identifier("b")));
  EXPECT_EQ(c->transport.take(),
            (Strings{reply(identifier("a"), "confirm_subscription"), reply(identifier("b"), "reject_subscription")}));
  c->send(unsubscribe_command(identifier("a")));
  EXPECT_EQ(c->transport.take(), Strings{R"({"type":"disconnect","reason":"rate_limited","reconnect":true})"});
  EXPECT_EQ(c->transport.close_code, ws::close_code::kPolicyViolation);
}

TEST(CableSession, PingedEveryFewSeconds) {
  CableFixture f;
  f.server().start();
  auto c = f.connect();
  c->transport.take();
  // Waits for the ping event itself (the loop's timer), bounded: no fixed sleep.
  for (int i = 0; i < 100 && c->transport.messages.size() < 2; ++i)
    f.loop().io().run_one_for(std::chrono::milliseconds(100));
  ASSERT_EQ(c->transport.messages.size(), 2u);
  EXPECT_EQ(field(c->transport.messages[1], "type"), "ping");
}

TEST(CableSession, ServerRestartTellsTheClientToReconnect) {
  CableFixture f;
  auto c = f.connect();
  c->transport.take();
  c->session->restart();
  EXPECT_EQ(c->transport.take(), Strings{R"({"type":"disconnect","reason":"server_restart","reconnect":true})"});
  EXPECT_EQ(c->transport.close_code, ws::close_code::kGoingAway);
}

// ---- the extended protocol ------------------------------------------------------------------------------

TEST(CableSession, ExtendedWelcomeCarriesASessionId) {
  CableFixture f;
  auto c = f.connect("t1", true);
  auto got = c->transport.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(field(got[0], "type"), "welcome");
  EXPECT_FALSE(field(got[0], "sid").empty());
}

TEST(CableSession, ARestoredSessionGetsWhatItMissedExactlyOnce) {
  CableFixture f;
  const std::string id = identifier("a");
  auto first = f.connect("t1", true);
  const std::string sid = field(first->transport.take().at(0), "sid");
  first->send(subscribe_command(id));
  f.server().broadcast("test:a", R"({"n":1})");
  f.drain();
  auto got = first->transport.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], reply(id, "confirm_subscription"));
  const std::string epoch = field(got[1], "epoch");
  EXPECT_EQ(offset_of(got[1]), 1u);
  EXPECT_EQ(field(got[1], "stream_id"), "test:a");
  first->close();  // the client's network drops; its session is kept

  f.server().broadcast("test:a", R"({"n":2})");  // nobody here streams it; the log keeps it
  f.drain();
  auto second = f.connect("t1", true, sid);
  got = second->transport.take();
  ASSERT_EQ(got.size(), 1u);  // no confirmation: the client has the subscription
  EXPECT_EQ(field(got[0], "type"), "welcome");
  EXPECT_NE(got[0].find(R"("restored":true,"restored_ids":[)" + json_quoted(id) + "]"), std::string::npos);
  EXPECT_EQ(f.channel().confirmed_count, 2);

  f.server().broadcast("test:a", R"({"n":3})");  // held until the history request
  f.drain();
  EXPECT_TRUE(second->transport.take().empty());
  second->send(R"({"command":"history","identifier":)" + json_quoted(id) +
               R"(,"history":{"streams":{"test:a":{"epoch":")" + epoch + R"(","offset":1}}}})");
  f.drain();
  got = second->transport.take();
  // Offsets 2 and 3 once each (3 was both held and in the log), then the confirmation.
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(offset_of(got[0]), 2u);
  EXPECT_EQ(offset_of(got[1]), 3u);
  EXPECT_EQ(got[2], reply(id, "confirm_history"));
  f.server().broadcast("test:a", R"({"n":4})");
  f.drain();
  got = second->transport.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(offset_of(got[0]), 4u);
}

TEST(CableSession, HistoryRefusals) {
  CableFixture f;
  const std::string id = identifier("a");
  auto c = f.connect("t1", true);
  c->send(R"({"command":"history","identifier":)" + json_quoted(id) + R"(,"history":{"since":0}})");
  c->transport.take();
  c->send(subscribe_command(id));
  c->transport.take();
  // Not subscribed, an epoch the log never had, a malformed request.
  c->send(R"({"command":"history","identifier":)" + json_quoted(identifier("b")) + R"(,"history":{"since":0}})");
  c->send(R"({"command":"history","identifier":)" + json_quoted(id) +
          R"(,"history":{"streams":{"test:a":{"epoch":"nope","offset":1}}}})");
  c->send(R"({"command":"history","identifier":)" + json_quoted(id) + R"(,"history":{"streams":7}})");
  f.drain();
  EXPECT_EQ(c->transport.take(), (Strings{reply(identifier("b"), "reject_history"), reply(id, "reject_history"),
                                          reply(id, "reject_history")}));
  // The stream still flows.
  f.server().broadcast("test:a", R"({"n":1})");
  f.drain();
  auto got = c->transport.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(offset_of(got[0]), 1u);
}

TEST(CableSession, AnotherUsersSessionIdIsNotRestored) {
  CableFixture f;
  auto first = f.connect("t1", true);
  const std::string sid = field(first->transport.take().at(0), "sid");
  first->send(subscribe_command(identifier("a")));
  first->close();
  auto other = f.connect("t2", true, sid);  // signs in, as another user: a fresh session
  auto got = other->transport.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(field(got[0], "type"), "welcome");
  EXPECT_EQ(got[0].find("restored"), std::string::npos);
  // The owner still gets it back.
  auto owner = f.connect("t1", true, sid);
  got = owner->transport.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find(R"("restored":true)"), std::string::npos);
}

TEST(CableSession, WhispersReachTheOthersNotTheSender) {
  CableFixture f;
  const std::string id = identifier("a");
  auto a = f.connect("t1", true);
  auto b = f.connect("t2", true);
  a->send(subscribe_command(id));
  b->send(subscribe_command(id));
  a->transport.take();
  b->transport.take();
  a->send(R"({"command":"whisper","identifier":)" + json_quoted(id) + R"(,"data":{"typing":true}})");
  f.drain();
  EXPECT_TRUE(a->transport.take().empty());
  auto got = b->transport.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find(R"("message":{"typing":true})"), std::string::npos);
}
