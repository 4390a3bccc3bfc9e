#pragma once
// The limits a client can run into, each counted per loop and shown in /metrics as
// peercable_limit_refusals_total{limit="<name>"}.
#include <cstddef>
#include <string_view>

namespace peercable::net {

enum class Limit : std::size_t {
  kConnectionsPerIp,
  kNewConnectionsPerIp,
  kCommands,
  kSubscriptions,
  kIdentifier,
  kRoomName,
  kActionSize,
  kGuestSignins,
  kOrigin,
  kCount
};

constexpr std::string_view limit_name(Limit l) {
  constexpr std::string_view kNames[] = {"connections_per_ip", "new_connections_per_ip", "commands",
                                         "subscriptions",      "identifier",             "room_name",
                                         "action_size",        "guest_signins",          "origin"};
  return kNames[static_cast<std::size_t>(l)];
}

/// Counts one refusal on the calling loop (no-op off the loops).
void count_refusal(Limit l);

}  // namespace peercable::net
