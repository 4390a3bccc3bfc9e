// Action Cable frames as the load generator sees them: what the server sent, and the commands we send.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loadgen {

/// The identifier every benchmark client subscribes with, as the JSON string it is sent as.
inline constexpr std::string_view kBenchmarkIdentifier = R"({"channel":"BenchmarkChannel"})";

enum class CableKind { welcome, ping, confirm, reject, disconnect, message, other, invalid };

/// The parts of a server frame the scenarios care about. Views point into the frame text.
struct CableMessage {
  CableKind kind = CableKind::invalid;
  std::string_view action;  ///< message.action for broadcasts/echoes
  std::int64_t seq = -1;    ///< message.seq
  std::int64_t t = -1;      ///< message.t (send time, µs on the load generator's clock)
  std::string_view reason;  ///< disconnect reason
};

/// Classifies one text frame from the server.
CableMessage parse_cable_message(std::string_view text);

/// {"command":"subscribe","identifier":"{\"channel\":\"BenchmarkChannel\"}"}
std::string subscribe_command();

/// A "message" command performing `action` with data {"action":…,"seq":…,"t":…,"pad":"xx…"}.
std::string action_command(std::string_view action, std::int64_t seq, std::int64_t t, std::string_view pad);

}  // namespace loadgen
