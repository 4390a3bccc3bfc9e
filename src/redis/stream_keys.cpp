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
  return {key("m:"), key("l:"), key("r:")};
}

std::string stream_index_key(std::string_view ns) {
  return std::string(ns) + "index";
}

std::optional<Positioned> decode_positioned(std::string_view message) {
  auto first = message.find('\n');
  if (first == std::string_view::npos || first == 0) return std::nullopt;
  auto second = message.find('\n', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  Positioned p;
  p.epoch = message.substr(0, first);
  auto digits = message.substr(first + 1, second - first - 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p.offset);
  if (ec != std::errc() || end != digits.data() + digits.size() || p.offset == 0) return std::nullopt;
  p.payload = message.substr(second + 1);
  return p;
}

}  // namespace peercable::redis
