#include "cable/session_store.hpp"

#include <openssl/rand.h>
#include <simdjson.h>

#include "auth/encoding.hpp"
#include "json/writer.hpp"

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

std::string encode_session(const SavedSession& s) {
  std::string out = "{\"id\":";
  json::append_string(out, s.user.id);
  out += ",\"name\":";
  json::append_string(out, s.user.name);
  out += s.user.guest ? ",\"guest\":true" : ",\"guest\":false";
  out += ",\"rooms\":[";
  for (std::size_t i = 0; i < s.user.rooms.size(); ++i) {
    if (i) out += ',';
    json::append_string(out, s.user.rooms[i]);
  }
  out += "],\"credentials\":\"";
  out += auth::base64_encode(s.credentials);
  out += "\",\"subscriptions\":[";
  for (std::size_t i = 0; i < s.identifiers.size(); ++i) {
    if (i) out += ',';
    json::append_string(out, s.identifiers[i]);
  }
  out += "]}";
  return out;
}

std::optional<SavedSession> decode_session(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::object o;
  std::string_view id, name, digest;
  bool guest = false;
  simdjson::dom::array rooms, subs;
  if (parser.parse(text.data(), text.size()).get(doc) || doc.get(o) || o["id"].get(id) || o["name"].get(name) ||
      o["guest"].get(guest) || o["rooms"].get(rooms) || o["credentials"].get(digest) || o["subscriptions"].get(subs))
    return std::nullopt;
  auto credentials = auth::base64_strict_decode(digest);
  if (!credentials) return std::nullopt;
  SavedSession s;
  s.user.id = id;
  s.user.name = name;
  s.user.guest = guest;
  for (auto r : rooms) {
    std::string_view v;
    if (r.get(v)) return std::nullopt;
    s.user.rooms.emplace_back(v);
  }
  s.credentials = std::move(*credentials);
  for (auto i : subs) {
    std::string_view v;
    if (i.get(v)) return std::nullopt;
    s.identifiers.emplace_back(v);
  }
  return s;
}

void SessionStore::save(const std::string& sid, SavedSession s) {
  if (max_ == 0 || ttl_.count() == 0) return;
  if (remote_) return remote_->save(sid, s, ttl_);
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
  if (remote_) {
    // Called once the sign-in named the session's user: the lookup found it, and it goes now.
    remote_->remove(sid);
    return true;
  }
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
