#include "cable/hub.hpp"

#include "cable/broadcast.hpp"
#include "cable/delivery_stats.hpp"
#include "cable/session.hpp"
#include "cable/subscription.hpp"
#include "ws/transport.hpp"

namespace peercable::cable {

void StreamHub::add(Subscription& sub, const std::string& stream, broker::Broker::Ready ready) {
  for (const auto& ref : sub.stream_refs_)
    if (ref.name == stream) return ready();  // already streaming it (stream_from twice)
  auto [it, inserted] = streams_.try_emplace(stream);
  StreamState& st = it->second;
  Subscription::StreamRef ref{stream, st.entries.size(), &st.entries};
  st.entries.push_back({&sub, static_cast<std::uint32_t>(sub.stream_refs_.size())});
  sub.stream_refs_.push_back(std::move(ref));
  if (stats_) stats_->on_subscribers(1, streams_.size());
  if (st.live) return ready();
  st.waiting.push_back(std::move(ready));
  if (inserted) {
    broker_.subscribe(loop_, stream, [this, stream] {
      auto found = streams_.find(stream);
      if (found == streams_.end()) return;
      found->second.live = true;
      auto waiting = std::move(found->second.waiting);
      for (auto& w : waiting) w();
    });
  }
}

void StreamHub::remove_all(Subscription& sub) {
  for (auto& ref : sub.stream_refs_) {
    HubEntryList& list = *ref.list;
    std::size_t i = ref.index;
    list[i] = list.back();
    list[i].sub->stream_refs_[list[i].slot].index = i;
    list.pop_back();
    if (list.empty()) {
      streams_.erase(ref.name);
      broker_.unsubscribe(loop_, ref.name);
    }
    if (stats_) stats_->on_subscribers(-1, streams_.size());
  }
  sub.stream_refs_.clear();
}

bool StreamHub::in_order(const Broadcast& b) const {
  auto it = streams_.find(b.stream());
  if (it == streams_.end()) return true;
  return it->second.last_epoch == b.epoch().get() && it->second.last_offset + 1 == b.offset();
}

void StreamHub::deliver(const std::shared_ptr<const Broadcast>& bp, std::uint64_t except) {
  const Broadcast& b = *bp;
  auto it = streams_.find(b.stream());
  if (it == streams_.end()) return;
  if (b.epoch()) {
    it->second.last_epoch = b.epoch().get();
    it->second.last_offset = b.offset();
  }
  // Subscribers of a stream nearly always share one identifier: reuse the frames while it matches. The
  // compressed frame is built (once per broadcast) only when a deflate subscriber is met.
  const std::string* last_id = nullptr;
  ws::SharedFrame frame, deflated;
  bool deflate_tried = false;
  // The same for extended-protocol subscribers, whose frames carry the stream position.
  const std::string* ext_last_id = nullptr;
  ws::SharedFrame ext_frame, ext_deflated;
  bool ext_deflate_tried = false;
  std::vector<CableSession*> overflowed;
  for (const HubEntry& e : it->second.entries) {
    const std::string& id = e.sub->identifier();
    CableSession& session = e.sub->session();
    if (except != 0 && session.id() == except) continue;
    if (session.extended() && b.epoch()) {
      auto& ref = e.sub->stream_refs_[e.slot];
      if (ref.held) {
        if (!Subscription::hold(ref, bp) && (overflowed.empty() || overflowed.back() != &session))
          overflowed.push_back(&session);
        continue;
      }
      if (!Subscription::take_position(ref, b)) continue;  // replayed already
      if (!ext_last_id || (ext_last_id != &id && *ext_last_id != id)) {
        ext_frame = b.frame_for(id, true);
        ext_deflated.reset();
        ext_deflate_tried = false;
        ext_last_id = &id;
      }
      ws::Transport& conn = session.transport();
      if (conn.takes_shared_deflate()) {
        if (!ext_deflate_tried) {
          ext_deflated = b.deflated_frame_for(id, conn.loop_deflate(), true);
          ext_deflate_tried = true;
        }
        conn.send_frame(ext_deflated ? ext_deflated : ext_frame);
      } else {
        conn.send_frame(ext_frame);
      }
      continue;
    }
    if (!last_id || (last_id != &id && *last_id != id)) {
      frame = b.frame_for(id);
      deflated.reset();
      deflate_tried = false;
      last_id = &id;
    }
    ws::Transport& conn = session.transport();
    if (conn.takes_shared_deflate()) {
      if (!deflate_tried) {
        deflated = b.deflated_frame_for(id, conn.loop_deflate());
        deflate_tried = true;
      }
      conn.send_frame(deflated ? deflated : frame);
    } else {
      conn.send_frame(frame);
    }
  }
  if (stats_) stats_->on_deliver(b, it->second.entries.size());
  // A client that let too many broadcasts pile up before asking for its history starts again: it reconnects,
  // and its history request then covers them.
  for (auto* s : overflowed) s->transport().close(ws::close_code::kGoingAway, "history request overdue");
}

}  // namespace peercable::cable
