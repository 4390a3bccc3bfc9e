#pragma once
// Action Cable client commands: {"command":"subscribe|unsubscribe|message","identifier":"…","data":"…"}, and
// the extended protocol's history, whisper and pong. Pure.
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peercable::cable {

/// Where a client stands in one stream: the last offset it received of epoch `epoch`.
struct StreamPosition {
  std::string stream;
  std::string epoch;
  std::uint64_t offset = 0;
};

/// The extended protocol's "history" object: {"since": <unix s>, "streams": {"<stream>": {"offset", "epoch"}}}.
struct HistoryRequest {
  std::optional<std::int64_t> since;  // for streams without a position
  std::vector<StreamPosition> streams;
};

/// Bounds of a history request (a larger one is malformed).
inline constexpr std::size_t kMaxHistoryStreams = 64;
inline constexpr std::size_t kMaxHistoryStreamBytes = 1024;
inline constexpr std::size_t kMaxEpochBytes = 64;

struct Command {
  enum class Kind { kSubscribe, kUnsubscribe, kMessage, kHistory, kWhisper, kPong };
  Kind kind;
  std::string identifier;  // the exact string the client sent
  std::string data;        // the JSON text carried in "data" (message: a string; whisper: an object, minified)
  std::optional<HistoryRequest> history;  // subscribe and history: the "history" object, when valid
  bool history_malformed = false;         // a "history" was there but is not one (history: always refused)
};

/// Why a command was ignored; Rails answers all of these with silence (logged only).
enum class CommandError { kInvalidJson, kNotAnObject, kUnknownCommand, kBadIdentifier, kBadData };
const char* to_string(CommandError e);

struct ParsedCommand {
  std::optional<Command> command;
  CommandError error = CommandError::kInvalidJson;
};

/// Reads a "history" object; nullopt when it is not one (wrong types, over the bounds above).
std::optional<HistoryRequest> parse_history(simdjson::dom::element value);

/// Parses one text message from a client.
ParsedCommand parse_command(std::string_view text);

}  // namespace peercable::cable
