#include "store/history.hpp"

namespace peercable::store {

void MemoryHistory::append(const std::string& room, std::string message_json) {
  if (per_room_ == 0) return;
  std::lock_guard lock(mutex_);
  auto& q = rooms_[room];
  q.push_back(std::move(message_json));
  while (q.size() > per_room_) q.pop_front();
}

std::vector<std::string> MemoryHistory::latest(const std::string& room) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

void MemoryHistory::forget(const std::vector<std::string>& rooms) {
  std::lock_guard lock(mutex_);
  for (const auto& r : rooms) rooms_.erase(r);
}

}  // namespace peercable::store
