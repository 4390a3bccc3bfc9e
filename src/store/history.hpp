#pragma once
// The latest messages of each room, replayed to a subscriber when it joins.
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace peercable::store {

class HistoryStore {
 public:
  virtual ~HistoryStore() = default;
  /// Appends one message (its JSON text) to `room`.
  virtual void append(const std::string& room, std::string message_json) = 0;
  /// The latest messages of `room`, oldest first.
  virtual std::vector<std::string> latest(const std::string& room) = 0;
  /// Deletes the history of `rooms` (they expired: empty and idle).
  virtual void forget(const std::vector<std::string>& rooms) = 0;
  /// The rooms the store holds history for at start, so that they expire too; empty when it cannot tell.
  virtual std::vector<std::string> rooms() { return {}; }
};

/// History kept in memory, `per_room` messages per room; lost on restart.
class MemoryHistory final : public HistoryStore {
 public:
  explicit MemoryHistory(std::size_t per_room) : per_room_(per_room) {}
  void append(const std::string& room, std::string message_json) override;
  std::vector<std::string> latest(const std::string& room) override;
  void forget(const std::vector<std::string>& rooms) override;

 private:
  std::size_t per_room_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<std::string>> rooms_;
};

}  // namespace peercable::store
