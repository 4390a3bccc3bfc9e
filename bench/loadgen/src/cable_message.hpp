// Action Cable frames as the load generator sees them: what the server sent, and the commands we send.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

/// The identifier every benchmark client subscribes with, as the JSON string it is sent as.
inline constexpr std::string_view kBenchmarkIdentifier = R"({"channel":"BenchmarkChannel"})";

/// The WebSocket subprotocol a client speaks: Action Cable, or AnyCable's extended protocol
/// (broadcasts carry their stream position; subscribe may ask for history).
enum class CableProtocol { plain, ext };

/// "actioncable-v1-json" or "actioncable-v1-ext-json".
std::string_view subprotocol_name(CableProtocol protocol);

enum class CableKind {
  welcome,
  ping,
  confirm,
  reject,
  history_confirm,
  history_reject,
  disconnect,
  message,
  other,
  invalid
};

/// The parts of a server frame the scenarios care about. Views point into the frame text.
struct CableMessage {
  CableKind kind = CableKind::invalid;
  std::string_view action;  ///< message.action for broadcasts/echoes
  std::int64_t seq = -1;    ///< message.seq
  std::int64_t t = -1;      ///< message.t (send time, µs on the load generator's clock)
  std::string_view reason;  ///< disconnect reason
  std::string_view stream_id;  ///< extended protocol: the broadcast's stream (escapes left as written)
  std::string_view epoch;      ///< extended protocol: the stream's epoch
  std::int64_t offset = -1;    ///< extended protocol: the broadcast's place in its stream

  /// A broadcast that carries a whole stream position (extended protocol).
  bool positioned() const { return !stream_id.empty() && !epoch.empty() && offset >= 0; }
};

/// Classifies one text frame from the server.
CableMessage parse_cable_message(std::string_view text);

/// {"command":"subscribe","identifier":"{\"channel\":\"BenchmarkChannel\"}"}; for the extended protocol
/// with `"history":{"since":<since_s>,"streams":{}}` as @anycable/core sends on a first subscribe (it asks
/// for what was broadcast since it was created, and knows no stream positions yet).
std::string subscribe_command(CableProtocol protocol = CableProtocol::plain, std::int64_t since_s = 0);

/// What a stream position says about the broadcasts a connection got before it on the same stream.
enum class PositionCheck {
  first,      ///< the first one seen on this stream
  next,       ///< the offset after the last one: nothing missing
  gap,        ///< offsets were skipped (broadcasts missing)
  duplicate,  ///< an offset at or before the last one: sent twice, or out of order
  new_epoch,  ///< another epoch than before: the stream's history started again
  untracked,  ///< more streams than are tracked per connection
};

/// How a broadcast's position follows the previous one on its stream; for a gap, how many offsets it skipped.
struct PositionSeen {
  PositionCheck check = PositionCheck::first;
  std::int64_t skipped = 0;
};

/// The last stream position a connection saw on each of its streams, to check that offsets come one by
/// one, each once. A benchmark connection reads a stream or two; at most kMaxStreams are tracked.
class StreamPositions {
 public:
  static constexpr std::size_t kMaxStreams = 16;

  /// Records a broadcast's position and says how it follows the previous one on its stream.
  PositionSeen see(std::string_view stream, std::string_view epoch, std::int64_t offset);

 private:
  struct Position {
    std::string stream, epoch;
    std::int64_t offset = 0;
  };
  std::vector<Position> streams_;
};

/// A "message" command performing `action` with data {"action":…,"seq":…,"t":…,"pad":"xx…"}.
std::string action_command(std::string_view action, std::int64_t seq, std::int64_t t, std::string_view pad);

}  // namespace loadgen
