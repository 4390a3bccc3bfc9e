#include "auth/answer_cache.hpp"

#include <iterator>
#include <utility>

namespace peercable::auth {

using Clock = HookCache::Clock;

std::chrono::seconds hook_answer_ttl(HookAnswerKind kind, std::chrono::seconds ttl,
                                     std::chrono::seconds negative_ttl) noexcept {
  switch (kind) {
    case HookAnswerKind::kAccepted: return ttl;
    case HookAnswerKind::kRefused: return negative_ttl;
    case HookAnswerKind::kInvalid: break;
  }
  return std::chrono::seconds(0);
}

std::optional<Verdict> HookCache::find(const std::string& key, Clock::time_point now) {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (it->second->expires <= now) {
    order_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  return it->second->verdict;
}

void HookCache::store(const std::string& key, Verdict verdict, Clock::time_point expires, Clock::time_point now) {
  if (capacity_ == 0 || expires <= now) return;
  if (auto it = index_.find(key); it != index_.end()) {
    order_.erase(it->second);
    index_.erase(it);
  }
  // Insertion order is close to expiry order (two TTLs only), so expired entries gather at the front.
  while (!order_.empty() && (order_.front().expires <= now || index_.size() >= capacity_)) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  order_.push_back(Entry{key, std::move(verdict), expires});
  index_.emplace(key, std::prev(order_.end()));
}

}  // namespace peercable::auth
