#include "cable_message.hpp"

#include "json_scan.hpp"

namespace loadgen {

namespace {

CableKind kind_of_type(std::string_view type) {
  if (type == "welcome") return CableKind::welcome;
  if (type == "ping") return CableKind::ping;
  if (type == "confirm_subscription") return CableKind::confirm;
  if (type == "reject_subscription") return CableKind::reject;
  if (type == "confirm_history") return CableKind::history_confirm;
  if (type == "reject_history") return CableKind::history_reject;
  if (type == "disconnect") return CableKind::disconnect;
  return CableKind::other;
}

}  // namespace

std::string_view subprotocol_name(CableProtocol protocol) {
  return protocol == CableProtocol::ext ? "actioncable-v1-ext-json" : "actioncable-v1-json";
}

CableMessage parse_cable_message(std::string_view text) {
  CableMessage m;
  std::string_view message_raw;
  bool has_type = false;
  const bool ok = for_each_member(text, [&](std::string_view key, std::string_view value) {
    if (key == "type") {
      if (auto s = string_contents(value)) {
        has_type = true;
        m.kind = kind_of_type(*s);
      }
    } else if (key == "message") {
      message_raw = value;
    } else if (key == "reason") {
      if (auto s = string_contents(value)) m.reason = *s;
    } else if (key == "stream_id") {
      if (auto s = string_contents(value)) m.stream_id = *s;
    } else if (key == "epoch") {
      if (auto s = string_contents(value)) m.epoch = *s;
    } else if (key == "offset") {
      if (auto v = integer_value(value)) m.offset = *v;
    }
  });
  if (!ok) return CableMessage{};
  if (has_type) return m;
  if (message_raw.empty()) {
    m.kind = CableKind::other;
    return m;
  }
  m.kind = CableKind::message;
  for_each_member(message_raw, [&](std::string_view key, std::string_view value) {
    if (key == "action") {
      if (auto s = string_contents(value)) m.action = *s;
    } else if (key == "seq") {
      if (auto v = integer_value(value)) m.seq = *v;
    } else if (key == "t") {
      if (auto v = integer_value(value)) m.t = *v;
    }
  });
  return m;
}

std::string subscribe_command(CableProtocol protocol, std::int64_t since_s) {
  std::string out = R"({"command":"subscribe","identifier":"{\"channel\":\"BenchmarkChannel\"}")";
  if (protocol == CableProtocol::ext)
    out.append(R"(,"history":{"since":)").append(std::to_string(since_s)).append(R"(,"streams":{}})");
  return out + "}";
}

PositionSeen StreamPositions::see(std::string_view stream, std::string_view epoch, std::int64_t offset) {
  for (auto& p : streams_) {
    if (p.stream != stream) continue;
    if (p.epoch != epoch) {
      p.epoch = epoch;
      p.offset = offset;
      return {PositionCheck::new_epoch};
    }
    if (offset <= p.offset) return {PositionCheck::duplicate};
    const std::int64_t skipped = offset - p.offset - 1;
    p.offset = offset;
    return skipped == 0 ? PositionSeen{PositionCheck::next} : PositionSeen{PositionCheck::gap, skipped};
  }
  if (streams_.size() >= kMaxStreams) return {PositionCheck::untracked};
  streams_.push_back({std::string(stream), std::string(epoch), offset});
  return {PositionCheck::first};
}

std::string action_command(std::string_view action, std::int64_t seq, std::int64_t t, std::string_view pad) {
  // `data` is a JSON string holding the JSON-encoded action object, hence the escaped quotes.
  std::string out;
  out.reserve(160 + pad.size());
  out.append(R"({"command":"message","identifier":"{\"channel\":\"BenchmarkChannel\"}","data":"{\"action\":\")");
  out.append(action);
  out.append(R"(\",\"seq\":)").append(std::to_string(seq));
  out.append(R"(,\"t\":)").append(std::to_string(t));
  out.append(R"(,\"pad\":\")").append(pad).append(R"(\"}"})");
  return out;
}

}  // namespace loadgen
