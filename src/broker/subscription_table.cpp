#include "broker/subscription_table.hpp"

#include <algorithm>
#include <utility>

namespace peercable::broker {

SubscriptionTable::Actions SubscriptionTable::want(const std::string& stream, Waiter w, Link link) {
  Actions out;
  Stream& s = streams_[stream];
  ++s.loops;
  if (s.state == State::kLive || link == Link::kDown) {
    out.ready.push_back({stream, {}});
    out.ready.back().waiters.push_back(std::move(w));
    return out;
  }
  s.waiting.push_back(std::move(w));
  // While connecting, the stream is subscribed with all the others once the connection is ready; while an
  // UNSUBSCRIBE is in flight, once it is acknowledged.
  if (link == Link::kReady && s.state == State::kPending) subscribe(out, {stream});
  return out;
}

SubscriptionTable::Actions SubscriptionTable::drop(int loop, const std::string& stream, Link link) {
  Actions out;
  auto it = streams_.find(stream);
  if (it == streams_.end()) return out;
  Stream& s = it->second;
  std::erase_if(s.waiting, [loop](const Waiter& w) { return w.loop == loop; });
  if (--s.loops > 0) return out;
  if (s.state == State::kUnsubscribing) return out;  // the acknowledgement decides
  if (link == Link::kReady && (s.state == State::kLive || s.state == State::kSubscribing)) {
    s.state = State::kUnsubscribing;
    out.unsubscribe.push_back(stream);
    return out;
  }
  streams_.erase(it);
  return out;
}

bool SubscriptionTable::hold(const std::string& stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.loops == 0) return false;
  ++it->second.loops;
  return true;
}

SubscriptionTable::Actions SubscriptionTable::connected() {
  Actions out;
  forget_sync();
  out.subscribe_pattern = true;
  std::vector<std::string> batch;
  for (auto& [name, s] : streams_) {
    if (s.state != State::kPending) continue;
    resync_.insert(name);
    batch.push_back(name);
    if (batch.size() == kSubscribeBatch) subscribe(out, std::exchange(batch, {}));
  }
  if (!batch.empty()) subscribe(out, std::move(batch));
  return out;
}

SubscriptionTable::Actions SubscriptionTable::lost() {
  Actions out;
  forget_sync();
  for (auto it = streams_.begin(); it != streams_.end();) {
    Stream& s = it->second;
    if (s.loops == 0) {
      it = streams_.erase(it);
      continue;
    }
    s.state = State::kPending;
    release(out, it->first, s);
    ++it;
  }
  return out;
}

SubscriptionTable::Actions SubscriptionTable::subscribed(const std::string& stream) {
  Actions out;
  resync_.erase(stream);
  auto it = streams_.find(stream);
  if (it != streams_.end() && it->second.state == State::kSubscribing) {
    it->second.state = State::kLive;
    release(out, it->first, it->second);
  }
  check_synced(out);
  return out;
}

SubscriptionTable::Actions SubscriptionTable::unsubscribed(const std::string& stream) {
  Actions out;
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.state != State::kUnsubscribing) return out;
  if (it->second.loops == 0)
    streams_.erase(it);
  else
    subscribe(out, {it->first});  // subscribers came back while the UNSUBSCRIBE was in flight
  return out;
}

SubscriptionTable::Actions SubscriptionTable::pattern_subscribed() {
  Actions out;
  pattern_live_ = true;
  check_synced(out);
  return out;
}

SubscriptionTable::Entry* SubscriptionTable::find(std::string_view stream) {
  auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : &*it;
}

void SubscriptionTable::subscribe(Actions& out, std::vector<std::string> batch) {
  for (const auto& name : batch) streams_[name].state = State::kSubscribing;
  out.subscribe.push_back(std::move(batch));
}

void SubscriptionTable::release(Actions& out, const std::string& name, Stream& s) {
  if (s.waiting.empty()) return;
  out.ready.push_back({name, std::exchange(s.waiting, {})});
}

void SubscriptionTable::forget_sync() {
  pattern_live_ = false;
  synced_ = false;
  resync_.clear();
}

void SubscriptionTable::check_synced(Actions& out) {
  if (synced_ || !pattern_live_ || !resync_.empty()) return;
  synced_ = true;
  out.synced = true;
}

}  // namespace peercable::broker
