#pragma once
// A channel class, as in Action Cable: decides subscriptions and runs the actions sent to them.
#include <simdjson.h>

#include <string>
#include <string_view>

namespace peercable::cable {

class Subscription;

class Channel {
 public:
  virtual ~Channel() = default;
  /// The "channel" value of identifiers that reach this class.
  virtual std::string_view name() const = 0;
  /// A client subscribes with `params` (the parsed identifier); stream here; return false to reject.
  virtual bool subscribed(Subscription& sub, simdjson::dom::object params) = 0;
  /// The confirmation has been sent (every stream is live).
  virtual void confirmed(Subscription&) {}
  /// Runs `action` with `data` (the decoded "data" object, "action" key included).
  virtual void perform(Subscription& sub, std::string_view action, simdjson::dom::object data) = 0;
  /// The stream a whisper (extended protocol: a client-to-client message the server only relays) on `sub`
  /// goes to; empty: this channel takes no whispers.
  virtual std::string whisper_stream(Subscription&) { return {}; }
  /// The subscription ends (unsubscribe or disconnect); its streams are stopped right after.
  virtual void unsubscribed(Subscription&) {}
};

}  // namespace peercable::cable
