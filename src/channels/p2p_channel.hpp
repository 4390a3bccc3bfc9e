#pragma once
// P2PChannel: rooms, direct messages, WebRTC signaling relay, typing, presence and history.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "cable/channel.hpp"
#include "channels/room_access.hpp"
#include "channels/presence_feed.hpp"
#include "store/history.hpp"
#include "store/presence.hpp"
#include "store/room_table.hpp"
#include "store/store_worker.hpp"

namespace peercable::cable {
class CableServer;
}

namespace peercable::channels {

struct P2POptions {
  std::size_t max_body_bytes = 4096;
  std::size_t max_signal_bytes = 64 * 1024;
  std::size_t max_room_name = 64;
  RoomAccessOptions access;  // public rooms and the key of signed room names
  std::size_t max_rooms = 10000;                   // rooms alive at once (0: no limit)
  std::chrono::milliseconds room_ttl{86400000};    // an empty room is forgotten after this long
  std::chrono::milliseconds presence_window{150};  // join/leave changes are sent once per window per room
  std::size_t presence_list_max = 100;             // rooms larger than this get counts instead of names
};

class P2PChannel final : public cable::Channel {
 public:
  /// Every store call runs on `worker` (registered here, before the worker starts); presence events are
  /// published through `server`.
  P2PChannel(P2POptions options, store::PresenceStore& presence, store::HistoryStore& history,
             store::StoreWorker& worker, cable::CableServer& server);
  std::string_view name() const override { return "P2PChannel"; }
  bool subscribed(cable::Subscription& sub, simdjson::dom::object params) override;
  void confirmed(cable::Subscription& sub) override;
  void perform(cable::Subscription& sub, std::string_view action, simdjson::dom::object data) override;
  void unsubscribed(cable::Subscription& sub) override;
  /// Whispers (extended protocol) go to the room.
  std::string whisper_stream(cable::Subscription& sub) override;

  /// Rooms alive on this node (subscribed, or empty for less than the room ttl).
  std::size_t live_rooms() const { return rooms_.size(); }
  /// Subscriptions refused because --max-rooms rooms were alive.
  std::uint64_t rooms_refused() const noexcept { return rooms_refused_.load(std::memory_order_relaxed); }

 private:
  void speak(cable::Subscription& sub, simdjson::dom::object data);
  void direct(cable::Subscription& sub, simdjson::dom::object data);
  void signal(cable::Subscription& sub, simdjson::dom::object data);
  void typing(cable::Subscription& sub);
  void members(cable::Subscription& sub, simdjson::dom::object data);
  bool read_body(cable::Subscription& sub, simdjson::dom::object data, std::string& body);
  bool read_target(cable::Subscription& sub, simdjson::dom::object data, std::string& to);
  std::string next_id();

  P2POptions options_;
  store::PresenceStore& presence_;
  store::HistoryStore& history_;
  store::StoreWorker& worker_;
  store::RoomTable rooms_;
  PresenceFeed feed_;  // on the worker's thread only
  std::atomic<std::uint64_t> rooms_refused_{0};
  std::string node_prefix_;
  std::atomic<std::uint64_t> counter_{0};
};

}  // namespace peercable::channels
