#include "http/output_queue.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

using namespace peercable;
using http::OutputQueue;
using http::WriteStatus;

namespace {

// A connected pair of stream sockets: `ours` is written by the queue, `peer` is the client reading.
class SocketPair {
 public:
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0); }
  ~SocketPair() {
    close_ours();
    close_peer();
  }
  int ours() const { return fds_[0]; }
  int peer() const { return fds_[1]; }
  void close_peer() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }
  void close_ours() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    fds_[0] = -1;
  }
  // Small kernel buffers, so that a few kilobytes fill the socket.
  void shrink_buffers() {
    int small = 4096;
    ::setsockopt(ours(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(peer(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }
  // Everything the peer can read now, without waiting.
  std::string read_available() {
    std::string got;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(peer(), buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

 private:
  int fds_[2] = {-1, -1};
};

ws::SharedFrame frame_of(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

// A frame of `n` bytes whose content tells it apart from its neighbours.
ws::SharedFrame numbered_frame(int i, std::size_t n) {
  return frame_of(std::string(n, static_cast<char>('a' + i % 26)));
}

// Writes and lets the peer read, turn by turn, until the queue is empty; returns what the peer read. Bounded:
// a queue that makes no progress fails the test instead of looping.
std::string drain(OutputQueue& q, SocketPair& s, net::LoopCounters& counters) {
  std::string got;
  for (int turn = 0; turn < 10000; ++turn) {
    WriteStatus st = q.write(s.ours(), nullptr, counters);
    got += s.read_available();
    if (st == WriteStatus::kDone) return got + s.read_available();
    EXPECT_EQ(st, WriteStatus::kBlocked);
    if (st != WriteStatus::kBlocked) break;
  }
  ADD_FAILURE() << "the queue did not drain";
  return got;
}

constexpr std::size_t kNoLimit = std::size_t{1} << 40;

}  // namespace

TEST(OutputQueue, QueuedFramesGoOutTogetherInOrder) {
  SocketPair s;
  net::LoopCounters counters;
  OutputQueue q;
  EXPECT_TRUE(q.push(frame_of("one,"), kNoLimit));
  EXPECT_TRUE(q.push(frame_of("two,"), kNoLimit));
  EXPECT_TRUE(q.push(frame_of("three"), kNoLimit));
  EXPECT_EQ(q.bytes(), 13u);
  EXPECT_EQ(q.write(s.ours(), nullptr, counters), WriteStatus::kDone);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(counters.frames_out.load(), 3u);
  EXPECT_EQ(counters.bytes_out.load(), 13u);
  EXPECT_EQ(s.read_available(), "one,two,three");
  // An empty queue has nothing to write.
  EXPECT_EQ(q.write(s.ours(), nullptr, counters), WriteStatus::kDone);
  EXPECT_EQ(counters.frames_out.load(), 3u);
}

TEST(OutputQueue, MoreFramesThanOneSendmsgTakesAreAllWrittenAndCounted) {
  SocketPair s;
  net::LoopCounters counters;
  OutputQueue q;
  std::string expected;
  for (int i = 0; i < 100; ++i) {  // 64 pieces in the first sendmsg, the other 36 in a second one
    auto f = numbered_frame(i, 10);
    expected += *f;
    ASSERT_TRUE(q.push(f, kNoLimit));
  }
  EXPECT_EQ(q.write(s.ours(), nullptr, counters), WriteStatus::kDone);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(counters.frames_out.load(), 100u);
  EXPECT_EQ(counters.bytes_out.load(), expected.size());
  EXPECT_EQ(s.read_available(), expected);
}

TEST(OutputQueue, PartialWritesKeepTheRestAndItsOrder) {
  SocketPair s;
  s.shrink_buffers();
  net::LoopCounters counters;
  OutputQueue q;
  std::string expected;
  for (int i = 0; i < 200; ++i) {  // more than 64 frames: more than one sendmsg's worth of pieces
    auto f = numbered_frame(i, 1000 + static_cast<std::size_t>(i));
    expected += *f;
    ASSERT_TRUE(q.push(f, kNoLimit));
  }
  // The peer reads nothing yet: the socket fills and the backlog shows what is still ours.
  ASSERT_EQ(q.write(s.ours(), nullptr, counters), WriteStatus::kBlocked);
  const std::size_t written = counters.bytes_out.load();
  EXPECT_GT(written, 0u);
  EXPECT_LT(written, expected.size());
  EXPECT_EQ(q.bytes(), expected.size() - written);
  // Still full: nothing moves, nothing is lost.
  EXPECT_EQ(q.write(s.ours(), nullptr, counters), WriteStatus::kBlocked);
  EXPECT_EQ(q.bytes(), expected.size() - written);
  EXPECT_EQ(drain(q, s, counters), expected);
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(counters.frames_out.load(), 200u);
  EXPECT_EQ(counters.bytes_out.load(), expected.size());
}

TEST(OutputQueue, OverTheBacklogLimitOnlyTheFrameUnderWayIsKept) {
  SocketPair s;
  s.shrink_buffers();
  net::LoopCounters counters;
  OutputQueue q;
  constexpr std::size_t kFrame = 100'000;
  constexpr std::size_t kLimit = 3 * kFrame;
  const auto first = numbered_frame(0, kFrame);
  ASSERT_TRUE(q.push(first, kLimit));
  // The socket takes a few kilobytes: the first frame is cut.
  ASSERT_EQ(q.write(s.ours(), nullptr, counters), WriteStatus::kBlocked);
  const std::size_t written = counters.bytes_out.load();
  ASSERT_GT(written, 0u);
  ASSERT_LT(written, kFrame);
  EXPECT_TRUE(q.push(numbered_frame(1, kFrame), kLimit));
  EXPECT_TRUE(q.push(numbered_frame(2, kFrame), kLimit));
  EXPECT_EQ(q.bytes(), 3 * kFrame - written);
  EXPECT_FALSE(q.push(numbered_frame(3, kFrame), kLimit));  // a slow consumer
  q.drop_unsent();
  EXPECT_EQ(q.frames(), 1u);
  EXPECT_EQ(q.bytes(), kFrame - written);
  // The peer gets the whole first frame and nothing after it: never half a frame.
  EXPECT_EQ(drain(q, s, counters), *first);
}

TEST(OutputQueue, NothingSentYetMeansEverythingIsDropped) {
  OutputQueue q;
  EXPECT_TRUE(q.push(frame_of("abc"), 5));
  EXPECT_FALSE(q.push(frame_of("def"), 5));
  q.drop_unsent();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(OutputQueue, ASharedFrameIsHeldNotCopied) {
  SocketPair a, b;
  net::LoopCounters counters;
  OutputQueue qa, qb;
  const auto frame = frame_of("broadcast");
  ASSERT_TRUE(qa.push(frame, kNoLimit));
  ASSERT_TRUE(qb.push(frame, kNoLimit));
  EXPECT_EQ(frame.use_count(), 3);  // one frame, three holders: the caller and both queues
  EXPECT_EQ(qa.write(a.ours(), nullptr, counters), WriteStatus::kDone);
  EXPECT_EQ(qb.write(b.ours(), nullptr, counters), WriteStatus::kDone);
  EXPECT_EQ(frame.use_count(), 1);  // released once written
  EXPECT_EQ(a.read_available(), "broadcast");
  EXPECT_EQ(b.read_available(), "broadcast");
}

TEST(OutputQueue, APeerThatIsGoneIsReported) {
  SocketPair s;
  net::LoopCounters counters;
  OutputQueue q;
  s.close_peer();
  ASSERT_TRUE(q.push(frame_of("lost"), kNoLimit));
  EXPECT_EQ(q.write(s.ours(), nullptr, counters), WriteStatus::kPeerGone);
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}
