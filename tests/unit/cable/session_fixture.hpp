#pragma once
// A cable server on one loop that the test thread runs by hand, a test channel, and sessions over recording
// transports: the Action Cable protocol end to end, without sockets.
#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "cable/cable_server.hpp"
#include "cable/channel.hpp"
#include "cable/recording_transport.hpp"
#include "cable/session.hpp"
#include "cable/subscription.hpp"
#include "json/writer.hpp"
#include "net/loop.hpp"

namespace peercable::testing {

/// TestChannel: {"channel":"TestChannel","room":R} streams "test:R" ("closed" is rejected); action "echo"
/// transmits {"echo":text}; whispers go to the room's stream.
class TestChannel final : public cable::Channel {
 public:
  struct Room final : cable::ChannelState {
    explicit Room(std::string s) : stream(std::move(s)) {}
    std::string stream;
  };
  std::string_view name() const override { return "TestChannel"; }
  bool subscribed(cable::Subscription& sub, simdjson::dom::object params) override {
    std::string_view room;
    if (params["room"].get(room) || room == "closed") return false;
    sub.set_state(std::make_unique<Room>("test:" + std::string(room)));
    sub.stream_from(sub.state<Room>()->stream);
    return true;
  }
  void confirmed(cable::Subscription&) override { ++confirmed_count; }
  void perform(cable::Subscription& sub, std::string_view action, simdjson::dom::object data) override {
    actions.emplace_back(action);
    std::string_view text;
    if (action == "echo" && !data["text"].get(text)) {
      std::string out = "{\"echo\":";
      json::append_string(out, text);
      out += '}';
      sub.transmit(out);
    }
  }
  std::string whisper_stream(cable::Subscription& sub) override { return sub.state<Room>()->stream; }
  void unsubscribed(cable::Subscription&) override { ++unsubscribed_count; }

  int confirmed_count = 0;
  int unsubscribed_count = 0;
  std::vector<std::string> actions;
};

/// Accepts every connection as user "user-<token>", refuses all, or leaves the answer to the test (later).
class ScriptedAuth final : public auth::Authenticator {
 public:
  enum class Mode { kAccept, kRefuse, kLater };
  explicit ScriptedAuth(Mode& mode, auth::Done& later) : mode_(mode), later_(later) {}
  std::string_view name() const override { return "scripted"; }
  void authenticate(const auth::Credentials& credentials, auth::Done done) override {
    auth::Verdict v;
    if (mode_ == Mode::kLater) {
      later_ = std::move(done);
      return;
    }
    if (mode_ == Mode::kAccept) {
      v.outcome = auth::Outcome::kAccepted;
      v.identity.id = "user-" + credentials.token;
      v.identity.name = "User " + credentials.token;
    } else {
      v.outcome = auth::Outcome::kRefused;
      v.reason = "refused by the test";
    }
    done(std::move(v));
  }

 private:
  Mode& mode_;
  auth::Done& later_;
};

/// One session: its transport and the session itself, destroyed as the HTTP layer does (on_closed first).
struct Client {
  RecordingTransport transport;
  std::unique_ptr<cable::CableSession> session;
  ~Client() { close(); }
  void close() {
    if (!session) return;
    session->on_closed();
    session.reset();
  }
  void send(std::string_view text) { session->on_message(ws::Opcode::kText, text); }
};

class CableFixture {
 public:
  CableFixture() : server_({&loop_}) {
    auto channel = std::make_unique<TestChannel>();
    channel_ = channel.get();
    server_.add_channel(std::move(channel));
    chain_.add(std::make_unique<ScriptedAuth>(auth_mode, auth_later));
  }

  net::Loop& loop() { return loop_; }
  cable::CableServer& server() { return server_; }
  TestChannel& channel() { return *channel_; }

  /// Runs every handler ready on the loop (posted deliveries, broker answers) and returns: a bounded drain.
  void drain() {
    loop_.io().restart();
    loop_.io().poll();
  }

  /// A session signed in with `token`, opened; `restore_sid`: the extended protocol, taking that session over.
  std::unique_ptr<Client> connect(std::string token = "t1", bool extended = false, std::string restore_sid = {}) {
    auto c = std::make_unique<Client>();
    c->session = std::make_unique<cable::CableSession>(server_, server_.loop_state(0), c->transport);
    if (extended) c->session->set_extended(std::move(restore_sid));
    auto credentials = std::make_shared<auth::Credentials>();
    credentials->token = std::move(token);
    c->session->authenticate(chain_, std::move(credentials));
    c->session->on_open();
    drain();
    return c;
  }

  ScriptedAuth::Mode auth_mode = ScriptedAuth::Mode::kAccept;
  auth::Done auth_later;

 private:
  net::Loop loop_{0};
  cable::CableServer server_;
  TestChannel* channel_ = nullptr;
  auth::AuthChain chain_;
};

/// A JSON string literal of `s`.
inline std::string json_quoted(std::string_view s) {
  std::string out;
  json::append_string(out, s);
  return out;
}
inline std::string identifier(std::string_view room) {
  return R"({"channel":"TestChannel","room":")" + std::string(room) + R"("})";
}
inline std::string subscribe_command(std::string_view id) {
  return R"({"command":"subscribe","identifier":)" + json_quoted(id) + "}";
}
inline std::string unsubscribe_command(std::string_view id) {
  return R"({"command":"unsubscribe","identifier":)" + json_quoted(id) + "}";
}
inline std::string message_command(std::string_view id, std::string_view data_json) {
  return R"({"command":"message","identifier":)" + json_quoted(id) + R"(,"data":)" + json_quoted(data_json) + "}";
}
inline std::string reply(std::string_view id, std::string_view type) {
  return R"({"identifier":)" + json_quoted(id) + R"(,"type":")" + std::string(type) + "\"}";
}

}  // namespace peercable::testing
