#pragma once
// Redis channel names as Rails' redis adapter spells them. Pure.
#include <optional>
#include <string>
#include <string_view>

namespace peercable::broker {

/// The channel a stream is published on: "<prefix>:<stream>", or the stream itself without a prefix.
std::string redis_channel(std::string_view prefix, std::string_view stream);

/// The stream a channel carries, or nothing when the channel is not under `prefix`.
std::optional<std::string_view> stream_of_channel(std::string_view prefix, std::string_view channel);

/// The peercable-only channel on which a node receives a stream's broadcasts sequenced in Redis (with epoch and
/// offset): "[prefix:]peercable:ext:<stream>".
std::string ext_channel(std::string_view prefix, std::string_view stream);

/// The stream a peercable-only channel carries, or nothing for another channel.
std::optional<std::string_view> stream_of_ext_channel(std::string_view prefix, std::string_view channel);

/// The PSUBSCRIBE pattern that matches every remote-disconnect channel "[prefix:]action_cable/<id>",
/// with glob characters of the prefix escaped.
std::string remote_disconnect_pattern(std::string_view prefix);

/// The connection identifier a remote-disconnect channel names, or nothing for another channel.
std::optional<std::string_view> remote_disconnect_identifier(std::string_view prefix, std::string_view channel);

}  // namespace peercable::broker
