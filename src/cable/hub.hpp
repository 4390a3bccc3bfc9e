#pragma once
// The per-loop index stream → subscriptions. Adding and removing are O(1); a delivery walks one vector.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/broker.hpp"

namespace peercable::cable {

class Broadcast;
class CableSession;
class Subscription;

class StreamHub {
 public:
  StreamHub(int loop_index, broker::Broker& broker) : loop_(loop_index), broker_(broker) {}

  /// Adds `sub` to `stream`; `ready` runs once the stream is live on this node (maybe right away).
  void add(Subscription& sub, const std::string& stream, broker::Broker::Ready ready);
  /// Removes `sub` from every stream it is on.
  void remove_all(Subscription& sub);
  /// Queues `b` on every subscription of its stream on this loop (but session `except`'s).
  void deliver(const std::shared_ptr<const Broadcast>& b, std::uint64_t except = 0);

  std::size_t stream_count() const noexcept { return streams_.size(); }

  struct Entry {
    Subscription* sub;
    std::uint32_t slot;  // index into sub->stream_refs_
  };
  using EntryList = std::vector<Entry>;

 private:
  struct StreamState {
    EntryList entries;
    bool live = false;                           // the broker confirmed the subscription
    std::vector<broker::Broker::Ready> waiting;  // readiness callbacks until then
  };
  int loop_;
  broker::Broker& broker_;
  std::unordered_map<std::string, StreamState> streams_;
};

}  // namespace peercable::cable
