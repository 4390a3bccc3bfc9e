#include "redis/stream_keys.hpp"

#include <charconv>

namespace peercable::redis {

std::string stream_namespace(std::string_view channel_prefix) {
  std::string ns;
  if (!channel_prefix.empty()) {
    ns += channel_prefix;
    ns += ':';
  }
  ns += "peercable:stream:";
  return ns;
}

StreamKeys stream_keys(std::string_view ns, std::string_view stream) {
  // The kind comes before the name, so a stream name (which may hold ':') never makes another stream's key.
  auto key = [&](std::string_view kind) {
    std::string k(ns);
    k += kind;
    k += stream;
    return k;
  };
  return {key("m:"), key("l:"), key("r:"), key("s:")};
}

std::string stream_index_key(std::string_view ns) {
  return std::string(ns) + "index";
}

namespace {

// "<epoch>\n<offset>\n<payload>" with a non-empty epoch and an offset from 1.
std::optional<Envelope> decode_position(std::string_view message, Envelope::Kind kind) {
  auto first = message.find('\n');
  if (first == std::string_view::npos || first == 0) return std::nullopt;
  auto second = message.find('\n', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  Envelope e;
  e.kind = kind;
  e.epoch = message.substr(0, first);
  auto digits = message.substr(first + 1, second - first - 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), e.offset);
  if (ec != std::errc() || end != digits.data() + digits.size() || e.offset == 0) return std::nullopt;
  e.payload = message.substr(second + 1);
  return e;
}

constexpr std::string_view kRailsTag = "~r\n";
constexpr std::string_view kWhisperTag = "~w\n";

}  // namespace

std::optional<Envelope> decode_envelope(std::string_view message) {
  if (message.starts_with(kRailsTag)) return decode_position(message.substr(kRailsTag.size()), Envelope::Kind::kRails);
  if (message.starts_with(kWhisperTag)) {
    message.remove_prefix(kWhisperTag.size());
    auto end = message.find('\n');
    if (end == std::string_view::npos || end == 0) return std::nullopt;
    Envelope e;
    e.kind = Envelope::Kind::kWhisper;
    e.node = message.substr(0, end);
    e.payload = message.substr(end + 1);
    return e;
  }
  if (message.starts_with('~')) return std::nullopt;  // a kind this node does not know
  return decode_position(message, Envelope::Kind::kTwinned);
}

std::string encode_whisper(std::string_view node, std::string_view payload) {
  std::string out;
  out.reserve(kWhisperTag.size() + node.size() + 1 + payload.size());
  out += kWhisperTag;
  out += node;
  out += '\n';
  out += payload;
  return out;
}

}  // namespace peercable::redis
