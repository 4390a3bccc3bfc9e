#pragma once
// One subscription of one connection: (identifier, channel, streams). Owned by its session.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"

namespace peercable::cable {

class Channel;
class CableSession;
class StreamHub;

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

  /// Channel-specific state (the room of a P2PChannel subscription, for instance).
  std::string param;

 private:
  friend class CableSession;
  friend class StreamHub;
  struct StreamRef {
    std::string name;
    std::size_t index;  // position in the hub's entry list for `name`
    void* list;         // that entry list (StreamHub::EntryList*)
  };
  void on_stream_ready();

  CableSession& session_;
  std::string identifier_;
  Channel& channel_;
  std::vector<StreamRef> stream_refs_;
  int pending_ = 0;  // streams (plus one guard while subscribing) not yet live
  bool confirmed_ = false;
  bool active_ = true;
};

}  // namespace peercable::cable
