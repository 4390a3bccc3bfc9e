#include "cable/hub.hpp"

#include <gtest/gtest.h>

#include "cable/broadcast.hpp"
#include "cable/session_fixture.hpp"

using namespace peercable;
using namespace peercable::testing;

namespace {

// A broker that records what the hub asks of it and confirms subscriptions when the test says.
class RecordingBroker final : public broker::Broker {
 public:
  void subscribe(int, const std::string& stream, Ready ready) override {
    subscribed.push_back(stream);
    waiting.push_back(std::move(ready));
  }
  void unsubscribe(int, const std::string& stream) override { unsubscribed.push_back(stream); }
  void publish(const std::string&, std::string) override {}
  void publish_internal(const std::string&, std::string) override {}
  void publish_whisper(const std::string&, std::string) override {}
  std::string state() const override { return "recording"; }
  void confirm_all() {
    auto w = std::move(waiting);
    for (auto& r : w) r();
  }
  std::vector<std::string> subscribed, unsubscribed;
  std::vector<Ready> waiting;
};

// Sessions and subscriptions for the hub to hold; their transports record what the hub delivers.
class HubTest : public ::testing::Test {
 protected:
  cable::Subscription& subscriber(const std::string& id) {
    clients_.push_back(std::make_unique<Client>());
    auto& c = *clients_.back();
    c.session = std::make_unique<cable::CableSession>(f_.server(), f_.server().loop_state(0), c.transport);
    subs_.push_back(std::make_shared<cable::Subscription>(*c.session, id, f_.channel()));
    return *subs_.back();
  }
  RecordingTransport& transport(std::size_t i) { return clients_[i]->transport; }
  std::shared_ptr<const cable::Broadcast> broadcast(const std::string& stream, const std::string& payload) {
    return std::make_shared<const cable::Broadcast>(stream, payload);
  }

  CableFixture f_;
  RecordingBroker broker_;
  cable::StreamHub hub_{0, broker_};
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::shared_ptr<cable::Subscription>> subs_;
};

}  // namespace

TEST_F(HubTest, TheFirstSubscriberSubscribesTheBrokerAndWaitsUntilLive) {
  auto& a = subscriber("id-a");
  auto& b = subscriber("id-b");
  int ready = 0;
  hub_.add(a, "s", [&] { ++ready; });
  hub_.add(b, "s", [&] { ++ready; });
  EXPECT_EQ(broker_.subscribed, std::vector<std::string>{"s"});  // once per stream, not per subscriber
  EXPECT_EQ(ready, 0);
  broker_.confirm_all();
  EXPECT_EQ(ready, 2);
  hub_.add(a, "s", [&] { ++ready; });  // streaming it already: ready at once, no second entry
  EXPECT_EQ(ready, 3);
  int late = 0;
  hub_.add(subscriber("id-c"), "s", [&] { ++late; });  // the stream is live: ready at once
  EXPECT_EQ(late, 1);
  EXPECT_EQ(hub_.stream_count(), 1u);
}

TEST_F(HubTest, FanOutSharesOneFramePerIdentifier) {
  auto& a = subscriber("id-1");
  auto& b = subscriber("id-1");
  auto& c = subscriber("id-2");
  for (auto* s : {&a, &b, &c}) hub_.add(*s, "s", [] {});
  hub_.deliver(broadcast("s", R"({"n":1})"));
  hub_.deliver(broadcast("other", R"({"n":2})"));  // nobody streams it here
  ASSERT_EQ(transport(0).frames.size(), 1u);
  ASSERT_EQ(transport(1).frames.size(), 1u);
  ASSERT_EQ(transport(2).frames.size(), 1u);
  EXPECT_EQ(transport(0).frames[0], transport(1).frames[0]);  // the same frame, not a copy
  EXPECT_NE(transport(0).frames[0], transport(2).frames[0]);
  EXPECT_EQ(transport(0).messages[0], cable::envelope("id-1", R"({"n":1})"));
  EXPECT_EQ(transport(2).messages[0], cable::envelope("id-2", R"({"n":1})"));
}

TEST_F(HubTest, ASessionCanBeLeftOut) {
  auto& a = subscriber("id");
  auto& b = subscriber("id");
  hub_.add(a, "s", [] {});
  hub_.add(b, "s", [] {});
  hub_.deliver(broadcast("s", "1"), a.session().id());  // a whisper from a: everyone else
  EXPECT_TRUE(transport(0).frames.empty());
  EXPECT_EQ(transport(1).frames.size(), 1u);
}

TEST_F(HubTest, RemovalKeepsTheOthersAndTheLastOneUnsubscribes) {
  auto& a = subscriber("a");
  auto& b = subscriber("b");
  auto& c = subscriber("c");
  for (auto* s : {&a, &b, &c}) {
    hub_.add(*s, "s", [] {});
    hub_.add(*s, "t", [] {});
  }
  hub_.remove_all(a);  // from the front of each list: the last entry moves into its place
  hub_.deliver(broadcast("s", "1"));
  EXPECT_TRUE(transport(0).frames.empty());
  EXPECT_EQ(transport(1).frames.size(), 1u);
  EXPECT_EQ(transport(2).frames.size(), 1u);
  hub_.remove_all(c);
  hub_.deliver(broadcast("t", "2"));
  EXPECT_EQ(transport(1).frames.size(), 2u);
  EXPECT_EQ(transport(2).frames.size(), 1u);
  EXPECT_TRUE(broker_.unsubscribed.empty());
  hub_.remove_all(b);  // the last subscriber of both streams
  EXPECT_EQ(broker_.unsubscribed, (std::vector<std::string>{"s", "t"}));
  EXPECT_EQ(hub_.stream_count(), 0u);
  hub_.remove_all(b);  // nothing left: harmless
}

TEST_F(HubTest, DeflateSubscribersGetTheCompressedFrame) {
  auto& plain = subscriber("id");
  // A transport that takes the loop's shared compression.
  struct DeflateClient {
    RecordingTransport transport{true};
    std::unique_ptr<cable::CableSession> session;
  } z;
  z.session = std::make_unique<cable::CableSession>(f_.server(), f_.server().loop_state(0), z.transport);
  auto zsub = std::make_shared<cable::Subscription>(*z.session, "id", f_.channel());
  hub_.add(plain, "s", [] {});
  hub_.add(*zsub, "s", [] {});
  const std::string big(1000, 'x');
  auto b = broadcast("s", "\"" + big + "\"");
  hub_.deliver(b);
  ASSERT_EQ(z.transport.frames.size(), 1u);
  ASSERT_EQ(transport(0).frames.size(), 1u);
  EXPECT_EQ(z.transport.frames[0], b->deflated_frame_for("id", z.transport.loop_deflate()));
  EXPECT_LT(z.transport.frames[0]->size(), transport(0).frames[0]->size());
  hub_.remove_all(*zsub);
  z.session->on_closed();
}
