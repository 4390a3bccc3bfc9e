#include "broker/redis_channels.hpp"

namespace peercable::broker {
namespace {
constexpr std::string_view kInternal = "action_cable/";
constexpr std::string_view kExt = "peercable:ext:";
}

std::string redis_channel(std::string_view prefix, std::string_view stream) {
  std::string out;
  out.reserve(prefix.size() + 1 + stream.size());
  if (!prefix.empty()) {
    out += prefix;
    out += ':';
  }
  out += stream;
  return out;
}

std::optional<std::string_view> stream_of_channel(std::string_view prefix, std::string_view channel) {
  if (prefix.empty()) return channel;
  if (channel.size() <= prefix.size() || channel.substr(0, prefix.size()) != prefix || channel[prefix.size()] != ':')
    return std::nullopt;
  return channel.substr(prefix.size() + 1);
}

std::string ext_channel(std::string_view prefix, std::string_view stream) {
  std::string name(kExt);
  name += stream;
  return redis_channel(prefix, name);
}

std::optional<std::string_view> stream_of_ext_channel(std::string_view prefix, std::string_view channel) {
  auto rest = stream_of_channel(prefix, channel);
  if (!rest || rest->size() < kExt.size() || rest->substr(0, kExt.size()) != kExt) return std::nullopt;
  return rest->substr(kExt.size());
}

std::string remote_disconnect_pattern(std::string_view prefix) {
  std::string out;
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  if (!prefix.empty()) out += ':';
  out += kInternal;
  out += '*';
  return out;
}

std::optional<std::string_view> remote_disconnect_identifier(std::string_view prefix, std::string_view channel) {
  auto rest = stream_of_channel(prefix, channel);
  if (!rest || rest->size() <= kInternal.size() || rest->substr(0, kInternal.size()) != kInternal) return std::nullopt;
  return rest->substr(kInternal.size());
}

}  // namespace peercable::broker
