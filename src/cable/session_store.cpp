#include "cable/session_store.hpp"

#include <openssl/rand.h>

namespace peercable::cable {

std::string SessionStore::new_sid() {
  unsigned char r[16];
  RAND_bytes(r, sizeof r);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (unsigned char c : r) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

void SessionStore::prune(Clock::time_point now) {
  while (!order_.empty() && (order_.front().first <= now || sessions_.size() > max_ || bytes_ > kMaxBytes)) {
    auto it = sessions_.find(order_.front().second);
    // The entry may have been taken already, or saved again later (then it expires later).
    if (it != sessions_.end() && it->second.expires == order_.front().first) {
      bytes_ -= it->second.bytes;
      sessions_.erase(it);
    }
    order_.pop_front();
  }
}

void SessionStore::save(const std::string& sid, SavedSession s) {
  if (max_ == 0 || ttl_.count() == 0) return;
  const auto now = Clock::now();
  const auto expires = now + ttl_;
  std::size_t bytes = sid.size() + s.user.id.size() + s.user.name.size() + s.credentials.size() + 128;
  for (const auto& r : s.user.rooms) bytes += r.size() + 32;
  for (const auto& i : s.identifiers) bytes += i.size() + 32;
  std::lock_guard lock(mutex_);
  auto [it, inserted] = sessions_.try_emplace(sid);
  if (!inserted) bytes_ -= it->second.bytes;
  it->second = Kept{std::move(s), expires, bytes};
  bytes_ += bytes;
  order_.emplace_back(expires, sid);
  prune(now);
}

std::optional<SavedSession> SessionStore::find(const std::string& sid) {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  prune(now);
  auto it = sessions_.find(sid);
  if (it == sessions_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.session;
}

bool SessionStore::take(const std::string& sid) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return false;
  bytes_ -= it->second.bytes;
  sessions_.erase(it);
  return true;
}

std::size_t SessionStore::size() {
  std::lock_guard lock(mutex_);
  prune(Clock::now());
  return sessions_.size();
}

}  // namespace peercable::cable
