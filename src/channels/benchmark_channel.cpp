#include "channels/benchmark_channel.hpp"

#include "cable/session.hpp"
#include "cable/subscription.hpp"
#include "json/writer.hpp"

namespace peercable::channels {

bool BenchmarkChannel::subscribed(cable::Subscription& sub, simdjson::dom::object) {
  sub.stream_from("all");
  sub.stream_from("benchmark:" + std::to_string(sub.session().id()));
  return true;
}

void BenchmarkChannel::perform(cable::Subscription& sub, std::string_view action, simdjson::dom::object data) {
  if (action == "echo") {
    std::string out;
    json::append_value(out, data);
    sub.transmit(out);
    return;
  }
  if (action == "broadcast") {
    std::string payload;
    json::append_value(payload, data);
    // The reply is data.merge(action: "broadcastResult"): same keys in the same order.
    std::string result = "{";
    bool first = true;
    for (auto field : data) {
      if (!first) result += ',';
      first = false;
      json::append_string(result, field.key);
      result += ':';
      if (field.key == "action")
        json::append_string(result, "broadcastResult");
      else
        json::append_value(result, field.value);
    }
    result += '}';
    // The sender's result first, then the broadcast: the order Rails' clients observe (its broadcast is async).
    sub.transmit(result);
    sub.broadcast("all", std::move(payload));
  }
  // Any other action: Rails logs "Unable to process" and sends nothing.
}

}  // namespace peercable::channels
