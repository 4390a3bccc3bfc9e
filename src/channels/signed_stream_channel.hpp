#pragma once
// Channels whose subscriptions stream one signed stream name and nothing else: turbo-rails'
// Turbo::StreamsChannel (`turbo_stream_from`, `broadcast_*_to`) and AnyCable's `$pubsub`. The signature is
// checked here, so no Ruby process holds the socket; the app broadcasts to the stream through Redis as usual.
#include <string>

#include "cable/channel.hpp"

namespace peercable::channels {

struct SignedStreamOptions {
  std::string channel;       // "Turbo::StreamsChannel" or "$pubsub"
  std::string key;           // HMAC-SHA256 key of the signatures
  bool urlsafe_too = false;  // accept URL-safe Base64 as well (AnyCable's Ruby signer)
  bool public_streams = false;  // accept {"stream_name": …} unsigned
};

class SignedStreamChannel final : public cable::Channel {
 public:
  explicit SignedStreamChannel(SignedStreamOptions options) : options_(std::move(options)) {}
  std::string_view name() const override { return options_.channel; }
  /// Streams the verified `signed_stream_name` (or, with public streams on, `stream_name`); rejects anything
  /// else, logging why.
  bool subscribed(cable::Subscription& sub, simdjson::dom::object params) override;
  /// These channels have no actions (as in turbo-rails); a message is ignored.
  void perform(cable::Subscription& sub, std::string_view action, simdjson::dom::object data) override;

 private:
  SignedStreamOptions options_;
};

}  // namespace peercable::channels
