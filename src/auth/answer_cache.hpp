#pragma once
// The HTTP auth hook's cache: the app's explicit answers, bounded in entries, each kept for the TTL of its
// kind (identities and refusals apart; errors never). Keyed by a digest of what was forwarded (see
// hook_cache_key), so it never holds a cookie. Pure: the caller gives the time.
#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "auth/authenticator.hpp"
#include "auth/hook_answer.hpp"

namespace peercable::auth {

/// How long an answer of `kind` is reused: `ttl` for an identity, `negative_ttl` for a 401/403, 0 (never)
/// for an invalid answer. Errors and timeouts are not answers and are never cached either.
std::chrono::seconds hook_answer_ttl(HookAnswerKind kind, std::chrono::seconds ttl,
                                     std::chrono::seconds negative_ttl) noexcept;

/// A bounded map from cache key to the app's explicit answer, each entry with its own expiry. Not thread-safe.
class HookCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit HookCache(std::size_t capacity) : capacity_(capacity) {}

  /// The verdict stored for `key` if it is still fresh at `now` (a stale one is dropped).
  std::optional<Verdict> find(const std::string& key, Clock::time_point now);
  /// Stores `verdict` for `key` until `expires`. When full, drops expired entries, then the oldest.
  void store(const std::string& key, Verdict verdict, Clock::time_point expires, Clock::time_point now);
  std::size_t size() const noexcept { return index_.size(); }

 private:
  struct Entry {
    std::string key;
    Verdict verdict;
    Clock::time_point expires;
  };
  std::size_t capacity_;
  std::list<Entry> order_;  // oldest insertion first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace peercable::auth
