#include "channels/signed_stream_channel.hpp"

#include <spdlog/spdlog.h>

#include "auth/signed_stream.hpp"
#include "cable/session.hpp"
#include "cable/subscription.hpp"
#include "net/loggable.hpp"

namespace peercable::channels {

bool SignedStreamChannel::subscribed(cable::Subscription& sub, simdjson::dom::object params) {
  std::string_view signed_name;
  if (params["signed_stream_name"].get(signed_name) == simdjson::SUCCESS) {
    // No key (public streams only): nothing signed can be trusted, since anyone can sign with an empty key.
    auto r = options_.key.empty() ? auth::SignedStreamResult{std::nullopt, "no key for signed stream names"}
                                  : auth::verify_signed_stream(signed_name, options_.key, options_.urlsafe_too);
    if (!r.stream) {
      spdlog::info("session {}: {} subscription rejected: {}", sub.session().id(), options_.channel, r.reason);
      return false;
    }
    sub.stream_from(*r.stream);
    return true;
  }
  std::string_view stream;
  if (params["stream_name"].get(stream) == simdjson::SUCCESS) {
    if (!options_.public_streams || stream.empty()) {
      spdlog::info("session {}: {} subscription rejected: {}", sub.session().id(), options_.channel,
                   options_.public_streams ? "empty stream_name" : "public streams are off (--public-streams)");
      return false;
    }
    sub.stream_from(std::string(stream));
    return true;
  }
  spdlog::info("session {}: {} subscription rejected: no signed_stream_name", sub.session().id(), options_.channel);
  return false;
}

void SignedStreamChannel::perform(cable::Subscription& sub, std::string_view action, simdjson::dom::object) {
  spdlog::debug("session {}: {} has no action {}", sub.session().id(), options_.channel, net::loggable(action, 64));
}

}  // namespace peercable::channels
