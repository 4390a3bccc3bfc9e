#include "store/presence.hpp"

namespace peercable::store {

bool MemoryPresence::join(const std::string& room, const auth::Identity& who) {
  std::lock_guard lock(mutex_);
  auto& m = rooms_[room][who.id];
  m.name = who.name;
  return ++m.count == 1;
}

bool MemoryPresence::leave(const std::string& room, const auth::Identity& who) {
  std::lock_guard lock(mutex_);
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return false;
  auto m = r->second.find(who.id);
  if (m == r->second.end()) return false;
  if (--m->second.count > 0) return false;
  r->second.erase(m);
  if (r->second.empty()) rooms_.erase(r);  // empty rooms take no memory
  return true;
}

std::vector<auth::Identity> MemoryPresence::members(const std::string& room) {
  std::lock_guard lock(mutex_);
  std::vector<auth::Identity> out;
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return out;
  for (const auto& [id, m] : r->second) out.push_back({id, m.name});
  return out;
}

std::vector<auth::Identity> PresenceStore::page(const std::string& room, const std::string& after, std::size_t limit) {
  std::vector<auth::Identity> out;
  for (auto& m : members(room)) {
    if (out.size() >= limit) break;
    if (after.empty() || m.id > after) out.push_back(std::move(m));
  }
  return out;
}

std::vector<auth::Identity> MemoryPresence::page(const std::string& room, const std::string& after, std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<auth::Identity> out;
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return out;
  for (auto it = after.empty() ? r->second.begin() : r->second.upper_bound(after);
       it != r->second.end() && out.size() < limit; ++it)
    out.push_back({it->first, it->second.name});
  return out;
}

std::size_t MemoryPresence::count(const std::string& room) {
  std::lock_guard lock(mutex_);
  auto r = rooms_.find(room);
  return r == rooms_.end() ? 0 : r->second.size();
}

}  // namespace peercable::store
