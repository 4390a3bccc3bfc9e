#include "store/redis_history.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

using peercable::redis::RedisOptions;
using peercable::store::make_redis_history;

namespace {

// A loopback port that refuses connections: bound but never listening, and held for the test's lifetime.
class RefusingPort {
 public:
  RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("cannot reserve a loopback port");
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

 private:
  int fd_;
  int port_ = 0;
};

}  // namespace

TEST(RedisHistory, WhileRedisIsAwayKeepsTheNewestPerRoomInMemory) {
  RefusingPort redis;
  auto start = std::chrono::steady_clock::now();
  auto h = make_redis_history(RedisOptions{redis.url(), "app"}, 3, std::chrono::hours(1));
  for (int i = 1; i <= 5; ++i) h->append("lobby", "{\"n\":" + std::to_string(i) + "}");
  h->append("other", "{\"n\":99}");
  auto got = h->latest("lobby");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "{\"n\":3}");
  EXPECT_EQ(got[1], "{\"n\":4}");
  EXPECT_EQ(got[2], "{\"n\":5}");
  EXPECT_EQ(h->latest("other"), std::vector<std::string>{"{\"n\":99}"});
  EXPECT_TRUE(h->latest("empty").empty());
  h.reset();  // stops the reconnecting thread
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << "calls must not wait on Redis";
}

TEST(RedisHistory, SizeZeroKeepsNothing) {
  RefusingPort redis;
  auto h = make_redis_history(RedisOptions{redis.url(), ""}, 0, std::chrono::hours(1));
  h->append("lobby", "{}");
  EXPECT_TRUE(h->latest("lobby").empty());
}

TEST(RedisHistory, BadUrlIsAClearError) {
  EXPECT_THROW(make_redis_history(RedisOptions{"http://127.0.0.1:6379", ""}, 10, std::chrono::hours(1)),
               std::runtime_error);
}
