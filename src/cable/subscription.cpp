#include "cable/subscription.hpp"

#include "cable/broadcast.hpp"
#include "cable/cable_server.hpp"
#include "cable/session.hpp"

namespace peercable::cable {

namespace {
constexpr std::size_t kMaxHeldBroadcasts = 4096;  // per stream of a subscription waiting for its history
}  // namespace

const auth::Identity& Subscription::user() const {
  return session_.user();
}

void Subscription::stream_from(const std::string& stream) {
  ++pending_;
  std::weak_ptr<Subscription> weak = weak_from_this();
  session_.loop_state().hub.add(*this, stream, [weak] {
    if (auto s = weak.lock()) s->on_stream_ready();
  });
}

bool Subscription::take_position(StreamRef& ref, const Broadcast& b) {
  if (!b.epoch()) return true;  // no log: nothing to tell apart
  const bool same_epoch = ref.epoch && (ref.epoch == b.epoch() || *ref.epoch == *b.epoch());
  if (same_epoch && b.offset() <= ref.sent) return false;
  ref.epoch = b.epoch();
  ref.sent = b.offset();
  return true;
}

bool Subscription::hold(StreamRef& ref, std::shared_ptr<const Broadcast> b) {
  if (ref.pending.size() >= kMaxHeldBroadcasts) return false;
  ref.pending.push_back(std::move(b));
  return true;
}

void Subscription::on_stream_ready() {
  if (!active_) return;
  if (--pending_ == 0) session_.confirm(*this);
}

void Subscription::transmit(std::string_view payload_json) {
  if (!active_) return;
  session_.send_text(envelope(identifier_, payload_json));
}

void Subscription::broadcast(const std::string& stream, std::string payload_json) {
  session_.server().broadcast(stream, std::move(payload_json));
}

}  // namespace peercable::cable
