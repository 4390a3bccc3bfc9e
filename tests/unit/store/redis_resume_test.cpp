#include "store/redis_resume.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <future>
#include <string>

#include "cable/broadcast.hpp"
#include "redis/sync_client.hpp"
#include "support/redis_server.hpp"

using namespace peercable;
using cable::HistoryResult;
using cable::StreamQuery;
using peercable::testing::RedisServer;

namespace {

struct Fixture {
  RedisServer redis;
  store::StoreWorker worker{100};
  store::RedisResume resume;
  redis::SyncClient setup;

  Fixture()
      : resume(store::make_redis_resume({redis.url(), ""}, worker, true, std::chrono::seconds(300))),
        setup(redis::SyncClient::from_url(redis.url(), {"test", ""})) {
    worker.start();
  }
  ~Fixture() { worker.stop(); }

  // Three broadcasts on stream "s" of epoch "E", as the broker's script leaves them.
  void three() {
    auto now = std::to_string(std::time(nullptr));
    setup.command({"HSET", "peercable:stream:m:s", "epoch", "E", "offset", "3"});
    for (int i = 1; i <= 3; ++i)
      setup.command({"XADD", "peercable:stream:l:s", std::to_string(i) + "-0", "t", now, "d",
                     "{\"n\":" + std::to_string(i) + "}"});
  }

  cable::HistoryAnswer read(StreamQuery q) {
    std::promise<cable::HistoryAnswer> p;
    auto f = p.get_future();
    resume.history->read({q}, [&p](cable::HistoryAnswer a) { p.set_value(std::move(a)); });
    return f.get();
  }
  cable::HistoryAnswer after(std::string stream, std::string epoch, std::uint64_t offset) {
    return read({std::move(stream), std::move(epoch), offset, true, 0});
  }
};

std::vector<std::uint64_t> offsets(const cable::HistoryAnswer& a) {
  std::vector<std::uint64_t> out;
  if (!a.missed.empty())
    for (const auto& b : a.missed[0]) out.push_back(b->offset());
  return out;
}

}  // namespace

TEST(RedisResume, ReplaysAfterAnOffsetOfTheCurrentEpoch) {
  Fixture f;
  f.three();
  auto a = f.after("s", "E", 1);
  ASSERT_EQ(a.result, HistoryResult::kOk);
  EXPECT_EQ(offsets(a), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(a.missed[0][0]->payload(), "{\"n\":2}");
  EXPECT_EQ(*a.missed[0][0]->epoch(), "E");
  EXPECT_EQ(f.after("s", "E", 3).result, HistoryResult::kOk);
  EXPECT_TRUE(offsets(f.after("s", "E", 3)).empty());
  EXPECT_EQ(f.after("s", "other", 1).result, HistoryResult::kUnknownEpoch);
  EXPECT_EQ(f.after("s", "E", 4).result, HistoryResult::kFutureOffset);
  EXPECT_EQ(f.after("s", "E", 18446744073709551615ull).result, HistoryResult::kFutureOffset);
  EXPECT_EQ(f.after("nothing", "E", 1).result, HistoryResult::kUnknownStream);
  auto since = f.read({"s", "", 0, false, std::time(nullptr) - 60});
  ASSERT_EQ(since.result, HistoryResult::kOk);
  EXPECT_EQ(offsets(since), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(RedisResume, AnOffsetNoLongerKeptIsRefused) {
  Fixture f;
  f.three();
  f.setup.command({"XTRIM", "peercable:stream:l:s", "MAXLEN", "2"});
  EXPECT_EQ(f.after("s", "E", 0).result, HistoryResult::kEvicted);
  EXPECT_EQ(offsets(f.after("s", "E", 1)), (std::vector<std::uint64_t>{2, 3}));
}

TEST(RedisResume, AStreamWithARailsBroadcastRefusesInsteadOfAGap) {
  Fixture f;
  f.three();
  auto now = std::time(nullptr);
  f.setup.command({"SET", "peercable:stream:r:s", std::to_string(now)});
  EXPECT_EQ(f.after("s", "E", 1).result, HistoryResult::kUnsequenced);
  EXPECT_EQ(f.read({"s", "", 0, false, now - 10}).result, HistoryResult::kUnsequenced);
  EXPECT_EQ(f.read({"s", "", 0, false, now + 10}).result, HistoryResult::kOk) << "the Rails broadcast was before";
}

// The mark as the broker writes it now: the time and the stream's last offset then. A client whose last offset is at
// or before it may have missed the unsequenced broadcast and is refused; one that has an offset after it is served.
TEST(RedisResume, AMarkRefusesOnlyClientsFromBeforeIt) {
  Fixture f;
  f.three();
  auto now = std::time(nullptr);
  f.setup.command({"SET", "peercable:stream:r:s", std::to_string(now) + " 2"});
  EXPECT_EQ(f.after("s", "E", 1).result, HistoryResult::kUnsequenced);
  EXPECT_EQ(f.after("s", "E", 2).result, HistoryResult::kUnsequenced);
  auto later = f.after("s", "E", 3);
  EXPECT_EQ(later.result, HistoryResult::kOk);
  EXPECT_TRUE(offsets(later).empty());
  EXPECT_EQ(f.read({"s", "", 0, false, now - 10}).result, HistoryResult::kUnsequenced);
}

TEST(RedisResume, ASessionIsRestoredOnceWithTheSameCredentials) {
  Fixture f;
  cable::SavedSession s;
  s.user.id = "amy";
  s.credentials = "digest";
  s.identifiers = {"{\"channel\":\"X\"}"};
  f.resume.sessions->save("sid1", s, std::chrono::seconds(60));
  auto claim = [&](const std::string& sid, const std::string& digest) {
    std::promise<std::pair<std::optional<cable::SavedSession>, bool>> p;
    auto fut = p.get_future();
    f.resume.sessions->claim(sid, digest, [&p](std::optional<cable::SavedSession> got, bool taken) {
      p.set_value({std::move(got), taken});
    });
    return fut.get();
  };
  auto other = claim("sid1", "another digest");
  ASSERT_TRUE(other.first);
  EXPECT_FALSE(other.second) << "other sign-in material does not take it";
  auto mine = claim("sid1", "digest");
  ASSERT_TRUE(mine.first);
  EXPECT_TRUE(mine.second);
  EXPECT_EQ(mine.first->identifiers, s.identifiers);
  EXPECT_FALSE(claim("sid1", "digest").first) << "restored once";
  EXPECT_FALSE(claim("unknown", "digest").first);
}

TEST(RedisResume, WhileRedisIsAwayHistoryIsRefused) {
  Fixture f;
  f.three();
  f.redis.stop();
  EXPECT_EQ(f.after("s", "E", 1).result, HistoryResult::kUnavailable);
}
