#pragma once
// Sessions of extended-protocol connections that closed, kept for a while under their session id so that a
// client reconnecting with that id gets its identity and subscriptions back. Thread-safe, bounded.
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/jwt.hpp"

namespace peercable::cable {

/// What a closed connection leaves behind.
struct SavedSession {
  auth::Identity user;
  std::string credentials;               // digest of the sign-in material the connection came with
  std::vector<std::string> identifiers;  // its confirmed subscriptions
};

class SessionStore {
 public:
  SessionStore(std::chrono::seconds ttl, std::size_t max_sessions) : ttl_(ttl), max_(max_sessions) {}

  /// A new unguessable session id (128 random bits, hex).
  static std::string new_sid();
  /// Keeps `s` under `sid` for the TTL; the oldest go first when the store is full.
  void save(const std::string& sid, SavedSession s);
  /// The session saved under `sid`, if it is there and not expired. It stays: take() removes it.
  std::optional<SavedSession> find(const std::string& sid);
  /// Removes `sid` (a session is restored once); false when it was gone already.
  bool take(const std::string& sid);

  std::chrono::seconds ttl() const noexcept { return ttl_; }
  std::size_t size();

 private:
  using Clock = std::chrono::steady_clock;
  struct Kept {
    SavedSession session;
    Clock::time_point expires;
    std::size_t bytes;
  };
  static constexpr std::size_t kMaxBytes = 64u << 20;  // what all kept sessions may hold, roughly
  void prune(Clock::time_point now);  // mutex_ held

  std::chrono::seconds ttl_;
  std::size_t max_;
  std::mutex mutex_;
  std::unordered_map<std::string, Kept> sessions_;
  std::size_t bytes_ = 0;
  std::deque<std::pair<Clock::time_point, std::string>> order_;  // by expiry (the TTL is one for all)
};

}  // namespace peercable::cable
