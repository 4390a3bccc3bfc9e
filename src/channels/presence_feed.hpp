#pragma once
// Presence events of P2P rooms: bounded snapshots, and join/leave changes coalesced into one diff per window.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include "auth/jwt.hpp"
#include "store/presence.hpp"

namespace peercable::channels {

/// Turns presence changes into events whose cost grows linearly with a room's size. Rooms of up to
/// `list_max` people get names (snapshots and diffs); bigger ones get counts, with names a page at a time on
/// request, and their count diffs go out at most once per `window` × (count / list_max): N joins then cost
/// about N × list_max / (joins per window) messages, linear in N, not N² / (joins per window). Used only on the store
/// worker's thread (it reads the presence store); events leave through `publish(room, json)`.
class PresenceFeed {
 public:
  using Publish = std::function<void(const std::string& room, std::string json)>;
  PresenceFeed(store::PresenceStore& presence, std::size_t list_max, std::chrono::milliseconds window, Publish publish)
      : presence_(presence), list_max_(list_max), window_(window), publish_(std::move(publish)) {}

  /// `who` became present in `room` (its first subscription there).
  void joined(const std::string& room, const auth::Identity& who);
  /// `who` left `room` (its last subscription there).
  void left(const std::string& room, const auth::Identity& who);
  /// Publishes one event per room changed since the last flush: a presence_diff, or a full snapshot when the
  /// diff would list more than `list_max` people.
  void flush(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
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
  std::chrono::milliseconds window_;
  Publish publish_;
  std::map<std::string, std::map<std::string, Change>> pending_;          // room → user id → net change
  std::map<std::string, std::chrono::steady_clock::time_point> big_due_;  // big room → next count diff
};

}  // namespace peercable::channels
