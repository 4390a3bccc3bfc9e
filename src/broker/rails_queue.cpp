#include "broker/rails_queue.hpp"

#include <algorithm>

namespace peercable::broker {

RailsQueue::Actions RailsQueue::arrived(const std::string& stream, std::string payload, Clock::time_point now) {
  Actions out;
  Entries& q = streams_[stream];
  // Over a bound: the oldest goes out bare now rather than anything being held without limit.
  while (!q.empty() && (q.size() >= timing_.max_per_stream || bytes_ + payload.size() > timing_.max_bytes))
    pop_front_bare(stream, q, out.bare);
  bytes_ += payload.size();
  ++count_;
  q.push_back({std::move(payload), ++next_id_, now});
  offer_due(stream, q, now, out);
  return out;
}

void RailsQueue::answered(const std::string& stream, std::uint64_t id, bool sequenced, Clock::time_point now) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  for (Entry& e : it->second) {
    if (e.id != id) continue;
    if (sequenced) {
      e.state = State::kSequenced;
    } else {
      e.state = State::kRefused;
      e.refused_at = now;
    }
    return;
  }
  // Not held any more: its positioned copy came first, or it was given up on.
}

RailsQueue::Match RailsQueue::positioned(const std::string& stream, std::string_view payload) {
  Match m;
  auto it = streams_.find(stream);
  if (it == streams_.end()) return m;
  Entries& q = it->second;
  auto hit = std::find_if(q.begin(), q.end(), [&](const Entry& e) { return e.payload == payload; });
  if (hit == q.end()) return m;
  m.found = true;
  std::vector<std::pair<std::string, std::string>> bare;
  const auto skipped = hit - q.begin();
  for (std::ptrdiff_t i = 0; i < skipped; ++i) pop_front_bare(stream, q, bare);
  for (auto& b : bare) m.bare.push_back(std::move(b.second));
  bytes_ -= q.front().payload.size();
  --count_;
  q.pop_front();
  drop_empty(stream);
  return m;
}

RailsQueue::Actions RailsQueue::tick(Clock::time_point now) {
  Actions out;
  for (auto it = streams_.begin(); it != streams_.end();) {
    Entries& q = it->second;
    while (!q.empty() && now - q.front().arrived >= timing_.give_up) pop_front_bare(it->first, q, out.bare);
    offer_due(it->first, q, now, out);
    it = q.empty() ? streams_.erase(it) : std::next(it);
  }
  return out;
}

void RailsQueue::forget(const std::string& stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  for (const Entry& e : it->second) bytes_ -= e.payload.size();
  count_ -= it->second.size();
  streams_.erase(it);
}

// Offers in arrival order: an entry waits while one ahead of it was refused and is not due again, so that when the
// lease passes to this node its broadcasts are sequenced in the order they were published.
void RailsQueue::offer_due(const std::string& stream, Entries& q, Clock::time_point now, Actions& out) {
  for (Entry& e : q) {
    if (e.state == State::kRefused) {
      if (now - e.refused_at < timing_.retry) return;
    } else if (e.state != State::kUnsent) {
      continue;
    }
    e.state = State::kSent;
    out.offers.push_back({stream, e.payload, e.id});
  }
}

void RailsQueue::pop_front_bare(const std::string& stream, Entries& q,
                                std::vector<std::pair<std::string, std::string>>& bare) {
  bytes_ -= q.front().payload.size();
  --count_;
  bare.emplace_back(stream, std::move(q.front().payload));
  q.pop_front();
}

void RailsQueue::drop_empty(const std::string& stream) {
  auto it = streams_.find(stream);
  if (it != streams_.end() && it->second.empty()) streams_.erase(it);
}

}  // namespace peercable::broker
