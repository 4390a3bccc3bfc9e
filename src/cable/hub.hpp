#pragma once
// The per-loop index stream → subscriptions. Adding and removing are O(1); a delivery walks one vector.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/broker.hpp"
#include "cable/subscription.hpp"

namespace peercable::cable {

class Broadcast;
class DeliveryStats;
class CableSession;

class StreamHub {
 public:
  StreamHub(int loop_index, broker::Broker& broker) : loop_(loop_index), broker_(broker) {}

  /// Adds `sub` to `stream`; `ready` runs once the stream is live on this node (maybe right away).
  void add(Subscription& sub, const std::string& stream, broker::Broker::Ready ready);
  /// Removes `sub` from every stream it is on.
  void remove_all(Subscription& sub);
  /// Queues `b` on every subscription of its stream on this loop (but session `except`'s).
  void deliver(const std::shared_ptr<const Broadcast>& b, std::uint64_t except = 0);

  /// True when delivering `b` right now keeps its stream's offsets in order on this loop: nothing of the
  /// stream is delivered here yet since its last offset before `b`'s (or nobody here streams it).
  bool in_order(const Broadcast& b) const;

  std::size_t stream_count() const noexcept { return streams_.size(); }
  /// Where deliveries and subscriber counts are reported (the live view, /metrics); may stay unset.
  void set_stats(DeliveryStats* stats) noexcept { stats_ = stats; }

 private:
  struct StreamState {
    HubEntryList entries;
    bool live = false;                           // the broker confirmed the subscription
    std::vector<broker::Broker::Ready> waiting;  // readiness callbacks until then
    const std::string* last_epoch = nullptr;     // position of the last broadcast delivered (compared only)
    std::uint64_t last_offset = 0;
  };
  int loop_;
  broker::Broker& broker_;
  std::unordered_map<std::string, StreamState> streams_;
  DeliveryStats* stats_ = nullptr;
};

}  // namespace peercable::cable
