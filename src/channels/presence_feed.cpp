#include "channels/presence_feed.hpp"

#include "json/writer.hpp"

#include <algorithm>

namespace peercable::channels {
namespace {

void append_user(std::string& out, const std::string& id, const std::string& name) {
  json::ObjectWriter w(out);
  w.key("id").str(id).key("name").str(name);
  w.end();
}

void append_users(std::string& out, const std::vector<auth::Identity>& users) {
  out += '[';
  bool first = true;
  for (const auto& u : users) {
    if (!first) out += ',';
    first = false;
    append_user(out, u.id, u.name);
  }
  out += ']';
}

}  // namespace

void PresenceFeed::joined(const std::string& room, const auth::Identity& who) {
  auto& changes = pending_[room];
  auto [it, fresh] = changes.try_emplace(who.id, Change{who.name, +1});
  if (fresh) return;
  if (it->second.delta < 0) changes.erase(it);  // left and came back within the window: nothing to tell
}

void PresenceFeed::left(const std::string& room, const auth::Identity& who) {
  auto& changes = pending_[room];
  auto [it, fresh] = changes.try_emplace(who.id, Change{who.name, -1});
  if (fresh) return;
  if (it->second.delta > 0) changes.erase(it);
}

void PresenceFeed::flush(std::chrono::steady_clock::time_point now) {
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [room, changes] : pending) {
    if (changes.empty()) continue;
    auto due = big_due_.find(room);
    if (due != big_due_.end() && now < due->second) {
      pending_[room] = std::move(changes);  // a big room's count waits for its turn
      continue;
    }
    const std::size_t count = presence_.count(room);
    if (count > list_max_) {
      big_due_[room] = now + window_ * static_cast<long>(count / list_max_);
    } else if (due != big_due_.end()) {
      big_due_.erase(due);
    }
    if (count <= list_max_ && changes.size() > list_max_) {
      publish_(room, snapshot(room));  // as cheap as the diff, and exact
      continue;
    }
    std::string ev;
    json::ObjectWriter w(ev);
    w.key("type").str("presence_diff").key("room").str(room).key("count").num(static_cast<std::int64_t>(count));
    // In a big room names are not sent: every change would reach every member (N² for N joins).
    if (count <= list_max_) {
      for (int sign : {+1, -1}) {
        w.key(sign > 0 ? "joined" : "left");
        ev += '[';
        bool first = true;
        for (const auto& [id, c] : changes) {
          if (c.delta != sign) continue;
          if (!first) ev += ',';
          first = false;
          append_user(ev, id, c.name);
        }
        ev += ']';
      }
    }
    w.end();
    publish_(room, std::move(ev));
  }
}

std::string PresenceFeed::snapshot(const std::string& room) {
  auto users = presence_.page(room, "", list_max_);
  const std::size_t count = std::max(presence_.count(room), users.size());
  std::string ev;
  json::ObjectWriter w(ev);
  w.key("type").str("presence").key("room").str(room).key("count").num(static_cast<std::int64_t>(count));
  w.key("users");
  append_users(ev, users);
  w.key("more").boolean(count > users.size());
  w.end();
  return ev;
}

std::string PresenceFeed::page(const std::string& room, const std::string& after) {
  auto users = presence_.page(room, after, list_max_);
  std::string ev;
  json::ObjectWriter w(ev);
  w.key("type").str("members").key("room").str(room);
  w.key("count").num(static_cast<std::int64_t>(presence_.count(room)));
  w.key("users");
  append_users(ev, users);
  w.key("next");
  if (users.size() == list_max_ && !users.empty())
    w.str(users.back().id);
  else
    ev += "null";
  w.end();
  return ev;
}

}  // namespace peercable::channels
