#include "store/room_table.hpp"

namespace peercable::store {

bool RoomTable::admits(const std::string& room) const {
  std::lock_guard lock(mutex_);
  return max_rooms_ == 0 || rooms_.size() < max_rooms_ || rooms_.count(room) != 0;
}

void RoomTable::acquire(const std::string& room) {
  std::lock_guard lock(mutex_);
  ++rooms_[room].subs;
}

void RoomTable::release(const std::string& room, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.subs == 0) return;
  if (--it->second.subs == 0) empty_locked(room, it->second, now);
}

void RoomTable::adopt(const std::string& room, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto [it, fresh] = rooms_.try_emplace(room);
  if (fresh) empty_locked(room, it->second, now);
}

void RoomTable::empty_locked(const std::string& room, Room& r, Clock::time_point now) {
  r.empty_since = now;
  if (r.queued) return;
  r.queued = true;
  expiries_.push({now + ttl_, room});
}

std::vector<std::string> RoomTable::expired(Clock::time_point now) {
  std::vector<std::string> out;
  std::lock_guard lock(mutex_);
  while (!expiries_.empty() && expiries_.top().at <= now) {
    Expiry e = expiries_.top();
    expiries_.pop();
    auto it = rooms_.find(e.room);
    if (it == rooms_.end()) continue;
    Room& r = it->second;
    r.queued = false;
    if (r.subs != 0) continue;  // joined again; release() queues it anew
    if (r.empty_since + ttl_ <= now) {
      rooms_.erase(it);
      out.push_back(std::move(e.room));
    } else {
      r.queued = true;  // emptied again since this entry was made
      expiries_.push({r.empty_since + ttl_, std::move(e.room)});
    }
  }
  return out;
}

std::size_t RoomTable::size() const {
  std::lock_guard lock(mutex_);
  return rooms_.size();
}

}  // namespace peercable::store
