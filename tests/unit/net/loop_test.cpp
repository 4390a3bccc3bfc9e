#include "net/loop.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

using namespace peercable::net;

namespace {

struct Recorder : Flushable {
  explicit Recorder(std::vector<int>& log, int id) : log_(log), id_(id) {}
  void flush() override {
    log_.push_back(id_);
    if (on_flush) on_flush();
  }
  std::vector<int>& log_;
  int id_;
  std::function<void()> on_flush;
};

}  // namespace

// The flush list never calls something that is gone: destruction takes an entry off the list.
TEST(LoopFlushList, DestroyedBeforeThePassIsSkipped) {
  Loop loop(0);
  std::vector<int> log;
  auto a = std::make_unique<Recorder>(log, 1);
  auto b = std::make_unique<Recorder>(log, 2);
  loop.schedule_flush(a.get());
  loop.schedule_flush(b.get());
  EXPECT_TRUE(a->flush_pending());
  a.reset();  // before: the pass would call a freed object (ASan: heap-use-after-free)
  loop.io().run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(log, std::vector<int>{2});
  EXPECT_FALSE(b->flush_pending());
}

// One flush may end another connection of the same pass: the later entry is skipped, not called.
TEST(LoopFlushList, DestroyedDuringThePassIsSkipped) {
  Loop loop(0);
  std::vector<int> log;
  auto a = std::make_unique<Recorder>(log, 1);
  auto b = std::make_unique<Recorder>(log, 2);
  auto c = std::make_unique<Recorder>(log, 3);
  a->on_flush = [&] { b.reset(); };
  loop.schedule_flush(a.get());
  loop.schedule_flush(b.get());
  loop.schedule_flush(c.get());
  loop.io().run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(log, (std::vector<int>{1, 3}));
}

// A flush that schedules again lands in the next pass; cancel_flush takes an entry off either list.
TEST(LoopFlushList, RescheduleAndCancel) {
  Loop loop(0);
  std::vector<int> log;
  Recorder a(log, 1), b(log, 2);
  int rounds = 0;
  a.on_flush = [&] {
    if (++rounds < 3) loop.schedule_flush(&a);
  };
  loop.schedule_flush(&a);
  loop.schedule_flush(&b);
  loop.cancel_flush(&b);
  EXPECT_FALSE(b.flush_pending());
  loop.io().run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(log, (std::vector<int>{1, 1, 1}));
}
