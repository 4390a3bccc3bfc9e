#pragma once
// Presence events of P2P rooms: bounded snapshots, and join/leave changes coalesced into one diff per window.
#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include "auth/jwt.hpp"
#include "store/presence.hpp"

namespace peercable::channels {

/// Turns presence changes into events whose cost grows linearly with a room's size. Rooms of up to
/// `list_max` people get names (snapshots and diffs); bigger ones get counts, with names a page at a time on
/// request. Used only on the store worker's thread (it reads the presence store); events leave through
/// `publish(room, json)`.
class PresenceFeed {
 public:
  using Publish = std::function<void(const std::string& room, std::string json)>;
  PresenceFeed(store::PresenceStore& presence, std::size_t list_max, Publish publish)
      : presence_(presence), list_max_(list_max), publish_(std::move(publish)) {}

  /// `who` became present in `room` (its first subscription there).
  void joined(const std::string& room, const auth::Identity& who);
  /// `who` left `room` (its last subscription there).
  void left(const std::string& room, const auth::Identity& who);
  /// Publishes one event per room changed since the last flush: a presence_diff, or a full snapshot when the
  /// diff would list more than `list_max` people.
  void flush();
  /// {"type":"presence","room","count","users":[the first list_max by id],"more"}
  std::string snapshot(const std::string& room);
  /// {"type":"members","room","count","users":[up to list_max after `after`],"next":<last id or null>}
  std::string page(const std::string& room, const std::string& after);

 private:
  struct Change {
    std::string name;
    int delta = 0;  // +1 joined, -1 left, within the window
  };

  store::PresenceStore& presence_;
  std::size_t list_max_;
  Publish publish_;
  std::map<std::string, std::map<std::string, Change>> pending_;  // room → user id → net change
};

}  // namespace peercable::channels
