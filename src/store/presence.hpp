#pragma once
// Who is in which room, counted per subscription so several tabs of one user are one presence.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "auth/jwt.hpp"

namespace peercable::store {

class PresenceStore {
 public:
  virtual ~PresenceStore() = default;
  /// Records one more subscription of `who` in `room`; true when it is the user's first there.
  virtual bool join(const std::string& room, const auth::Identity& who) = 0;
  /// Records one subscription fewer; true when it was the user's last there.
  virtual bool leave(const std::string& room, const auth::Identity& who) = 0;
  /// Everyone in `room`, ordered by user id.
  virtual std::vector<auth::Identity> members(const std::string& room) = 0;
  /// At most `limit` members of `room` whose id sorts after `after` ("" : from the first), ordered by id.
  virtual std::vector<auth::Identity> page(const std::string& room, const std::string& after, std::size_t limit);
  /// How many are in `room`.
  virtual std::size_t count(const std::string& room) { return members(room).size(); }
};

/// One node's presence, in memory.
class MemoryPresence final : public PresenceStore {
 public:
  bool join(const std::string& room, const auth::Identity& who) override;
  bool leave(const std::string& room, const auth::Identity& who) override;
  std::vector<auth::Identity> members(const std::string& room) override;
  std::vector<auth::Identity> page(const std::string& room, const std::string& after, std::size_t limit) override;
  std::size_t count(const std::string& room) override;

 private:
  struct Member {
    std::string name;
    int count = 0;
  };
  std::mutex mutex_;
  std::map<std::string, std::map<std::string, Member>> rooms_;
};

}  // namespace peercable::store
