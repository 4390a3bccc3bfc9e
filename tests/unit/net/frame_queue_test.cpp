#include "net/frame_queue.hpp"

#include <gtest/gtest.h>

#include <memory>

using peercable::net::FrameQueue;

TEST(FrameQueue, FifoOrderAndReuse) {
  FrameQueue<int> q;
  EXPECT_TRUE(q.empty());
  for (int i = 0; i < 5; ++i) q.push_back(i);
  EXPECT_EQ(q.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(q.front(), i);
    q.pop_front();
  }
  EXPECT_TRUE(q.empty());
  q.push_back(9);
  EXPECT_EQ(q.front(), 9);
  q.pop_back();
  EXPECT_TRUE(q.empty());
}

TEST(FrameQueue, NeverDrainingQueueStaysBounded) {
  FrameQueue<int> q;
  q.push_back(0);
  for (int i = 1; i < 100000; ++i) {
    q.push_back(i);
    EXPECT_EQ(q.front(), i - 1);
    q.pop_front();
  }
  EXPECT_EQ(q.size(), 1u);
  int n = 0;
  for (int v : q) n += v;
  EXPECT_EQ(n, 99999);
}

TEST(FrameQueue, ReleasesReferencesWhenPopped) {
  FrameQueue<std::shared_ptr<int>> q;
  auto p = std::make_shared<int>(1);
  q.push_back(p);
  q.push_back(p);
  EXPECT_EQ(p.use_count(), 3);
  q.pop_front();
  EXPECT_EQ(p.use_count(), 2);
  q.clear();
  EXPECT_EQ(p.use_count(), 1);
}
