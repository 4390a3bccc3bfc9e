#pragma once
// One subscription of one connection: (identifier, channel, streams). Owned by its session.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"
#include "cable/command.hpp"

namespace peercable::cable {

class Broadcast;
class Channel;

/// What a channel keeps on each of its subscriptions: a channel derives its own.
class ChannelState {
 public:
  virtual ~ChannelState() = default;
};

class CableSession;
class StreamHub;
class Subscription;

/// One subscriber in the hub's list of a stream: the subscription, and which of its streams (an index into its
/// stream references) this is. With Subscription::StreamRef, the two-way index that makes removal O(1).
struct HubEntry {
  Subscription* sub;
  std::uint32_t slot;
};
using HubEntryList = std::vector<HubEntry>;

class Subscription : public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(CableSession& session, std::string identifier, Channel& channel)
      : session_(session), identifier_(std::move(identifier)), channel_(channel) {}

  const std::string& identifier() const noexcept { return identifier_; }
  Channel& channel() noexcept { return channel_; }
  CableSession& session() noexcept { return session_; }
  const auth::Identity& user() const;

  /// Starts streaming `stream` to this subscription (stream_from in Action Cable).
  void stream_from(const std::string& stream);
  /// Sends {"identifier":…,"message":payload_json} to this subscription only.
  void transmit(std::string_view payload_json);
  /// Publishes `payload_json` on `stream` through the broker (reaches every node).
  void broadcast(const std::string& stream, std::string payload_json);

  bool confirmed() const noexcept { return confirmed_; }
  bool active() const noexcept { return active_; }
  /// Brought back by a restored session (extended protocol): the client already had it, so there is no
  /// confirm_subscription, and what it missed comes through its history request.
  bool restored() const noexcept { return restored_; }

  /// Gives the subscription its channel's state for it (the room of a P2PChannel subscription, for instance);
  /// set in Channel::subscribed, owned by the subscription.
  void set_state(std::unique_ptr<ChannelState> state) { state_ = std::move(state); }
  /// The state its channel gave it, if it is a `T`; else nullptr.
  template <class T>
  T* state() noexcept {
    return dynamic_cast<T*>(state_.get());
  }

 private:
  friend class CableSession;
  friend class StreamHub;
  struct StreamRef {
    std::string name;
    std::size_t index;   // position in the hub's entry list for `name`
    HubEntryList* list;  // that entry list
    // Extended protocol: the last position sent on this connection (never send one twice), and broadcasts
    // held back while a history replay for this stream is due.
    std::shared_ptr<const std::string> epoch{};
    std::uint64_t sent = 0;
    bool held = false;
    std::vector<std::shared_ptr<const Broadcast>> pending{};
  };
  void on_stream_ready();
  /// Extended protocol: true when `b` is after what `ref` has sent (and records it as sent).
  static bool take_position(StreamRef& ref, const Broadcast& b);
  /// Holds `b` back until a history replay; false when too many wait already.
  static bool hold(StreamRef& ref, std::shared_ptr<const Broadcast> b);

  CableSession& session_;
  std::string identifier_;
  Channel& channel_;
  std::vector<StreamRef> stream_refs_;
  int pending_ = 0;  // streams (plus one guard while subscribing) not yet live
  bool confirmed_ = false;
  bool active_ = true;
  bool restored_ = false;
  std::unique_ptr<ChannelState> state_;
  std::optional<HistoryRequest> history_;  // to serve once confirmed
  bool history_malformed_ = false;
  std::uint64_t history_ticket_ = 0;  // the history request being answered from outside the node
  bool history_asked_ = false;        // its answer is on its way: broadcasts stay held
};

}  // namespace peercable::cable
