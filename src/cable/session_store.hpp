#pragma once
// Sessions of extended-protocol connections that closed, kept for a while under their session id so that a
// client reconnecting with that id gets its identity and subscriptions back. Thread-safe, bounded.
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
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

/// The session as text (JSON) for a store outside the node, and back; nothing when the text is not one.
std::string encode_session(const SavedSession& s);
std::optional<SavedSession> decode_session(std::string_view text);

/// Saved sessions kept outside the node (Redis), so that a client restores its session on any node. Calls
/// return at once; the work is done on another thread.
class RemoteSessions {
 public:
  /// The session found under a sid, and whether this lookup took it (it matched the credentials digest).
  using Claimed = std::function<void(std::optional<SavedSession> session, bool taken)>;
  virtual ~RemoteSessions() = default;
  /// Keeps `s` under `sid` for `ttl`.
  virtual void save(const std::string& sid, const SavedSession& s, std::chrono::seconds ttl) = 0;
  /// Looks `sid` up and, when its credentials digest is `digest`, takes it (a session is restored once);
  /// `done` runs on another thread (or at once when the lookup cannot be made).
  virtual void claim(const std::string& sid, const std::string& digest, Claimed done) = 0;
  /// Removes `sid`.
  virtual void remove(const std::string& sid) = 0;
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
  /// Keeps sessions in `r` instead of this node's memory (before any connection).
  void set_remote(std::unique_ptr<RemoteSessions> r) { remote_ = std::move(r); }
  /// The store outside the node, if any: lookups go there (asynchronously), and save() and take() too.
  RemoteSessions* remote() const noexcept { return remote_.get(); }
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
  std::unique_ptr<RemoteSessions> remote_;
};

}  // namespace peercable::cable
