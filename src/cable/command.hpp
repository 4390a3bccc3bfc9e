#pragma once
// Action Cable client commands: {"command":"subscribe|unsubscribe|message","identifier":"…","data":"…"}. Pure.
#include <optional>
#include <string>
#include <string_view>

namespace peercable::cable {

struct Command {
  enum class Kind { kSubscribe, kUnsubscribe, kMessage };
  Kind kind;
  std::string identifier;  // the exact string the client sent
  std::string data;        // the JSON text carried in "data" (message only)
};

/// Why a command was ignored; Rails answers all of these with silence (logged only).
enum class CommandError { kInvalidJson, kNotAnObject, kUnknownCommand, kBadIdentifier, kBadData };
const char* to_string(CommandError e);

struct ParsedCommand {
  std::optional<Command> command;
  CommandError error = CommandError::kInvalidJson;
};

/// Parses one text message from a client.
ParsedCommand parse_command(std::string_view text);

}  // namespace peercable::cable
