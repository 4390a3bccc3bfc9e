#pragma once
// Which rooms are alive on this node: subscribed, or empty for less than the idle time allowed.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace peercable::store {

/// Counts subscriptions per room and tells when an empty room has been idle for `ttl`, so its history and
/// presence can be forgotten. At most `max_rooms` rooms live at once (0: no limit); an empty room still
/// counts until it expires. Thread-safe; every call is O(1) but expired(), which is O(rooms expired).
class RoomTable {
 public:
  using Clock = std::chrono::steady_clock;
  RoomTable(std::size_t max_rooms, std::chrono::milliseconds ttl) : max_rooms_(max_rooms), ttl_(ttl) {}

  /// Whether a subscription to `room` may start: the room lives already, or there is room for one more.
  bool admits(const std::string& room) const;
  /// One more subscription in `room` (created if needed, even over the limit: admits() was the check).
  void acquire(const std::string& room);
  /// One subscription fewer; the room's idle time starts when it becomes empty.
  void release(const std::string& room, Clock::time_point now = Clock::now());
  /// Registers a room found in a store at start (empty, expiring `ttl` from now) unless it lives already.
  void adopt(const std::string& room, Clock::time_point now = Clock::now());
  /// Removes and returns the rooms empty since `ttl` or longer before `now`.
  std::vector<std::string> expired(Clock::time_point now = Clock::now());
  /// Rooms alive (subscribed or not yet expired).
  std::size_t size() const;

 private:
  struct Room {
    std::size_t subs = 0;
    Clock::time_point empty_since{};
    bool queued = false;  // has an entry in expiries_
  };
  struct Expiry {
    Clock::time_point at;
    std::string room;
    bool operator>(const Expiry& o) const { return at > o.at; }
  };
  void empty_locked(const std::string& room, Room& r, Clock::time_point now);

  std::size_t max_rooms_;
  std::chrono::milliseconds ttl_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Room> rooms_;
  // At most one entry per room, so a client that joins and leaves a room in a loop cannot grow it; an entry
  // whose room was joined again since is dropped or pushed again at its new deadline when it comes up.
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries_;
};

}  // namespace peercable::store
