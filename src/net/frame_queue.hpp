#pragma once
// A FIFO on one vector: nothing allocated until the first push, capacity reused after it drains. An idle
// connection's std::deque would hold ~600 bytes of blocks; this holds a few pointers at most.
#include <cstddef>
#include <utility>
#include <vector>

namespace peercable::net {

template <class T>
class FrameQueue {
 public:
  bool empty() const noexcept { return head_ == items_.size(); }
  std::size_t size() const noexcept { return items_.size() - head_; }
  T& front() noexcept { return items_[head_]; }
  T& back() noexcept { return items_.back(); }
  auto begin() noexcept { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() noexcept { return items_.end(); }

  void push_back(T v) {
    // Slide the live part down once the consumed prefix dominates, so a queue that never drains stays bounded.
    if (head_ >= 32 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    items_.push_back(std::move(v));
  }

  void pop_front() {
    items_[head_] = T();
    if (++head_ == items_.size()) reset();
  }

  void pop_back() {
    items_.pop_back();
    if (head_ == items_.size()) reset();
  }

  void clear() { reset(); }

 private:
  void reset() {
    items_.clear();
    head_ = 0;
    if (items_.capacity() > 64) std::vector<T>().swap(items_);  // give back what a burst took
  }

  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace peercable::net
