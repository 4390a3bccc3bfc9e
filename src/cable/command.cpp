#include "cable/command.hpp"

#include <simdjson.h>

namespace peercable::cable {

const char* to_string(CommandError e) {
  switch (e) {
    case CommandError::kInvalidJson: return "invalid JSON";
    case CommandError::kNotAnObject: return "command is not a JSON object";
    case CommandError::kUnknownCommand: return "unrecognized command";
    case CommandError::kBadIdentifier: return "identifier is not a string";
    case CommandError::kBadData: return "data is not a string";
  }
  return "invalid command";
}

ParsedCommand parse_command(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  ParsedCommand r;
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size(), true).get(doc)) return r;
  simdjson::dom::object obj;
  if (doc.get(obj)) {
    r.error = CommandError::kNotAnObject;
    return r;
  }
  std::string_view name;
  if (obj["command"].get(name)) {
    r.error = CommandError::kUnknownCommand;
    return r;
  }
  Command c;
  if (name == "subscribe") {
    c.kind = Command::Kind::kSubscribe;
  } else if (name == "unsubscribe") {
    c.kind = Command::Kind::kUnsubscribe;
  } else if (name == "message") {
    c.kind = Command::Kind::kMessage;
  } else {
    r.error = CommandError::kUnknownCommand;
    return r;
  }
  std::string_view ident;
  if (obj["identifier"].get(ident)) {
    r.error = CommandError::kBadIdentifier;
    return r;
  }
  c.identifier = std::string(ident);
  if (c.kind == Command::Kind::kMessage) {
    std::string_view data;
    if (obj["data"].get(data)) {
      r.error = CommandError::kBadData;
      return r;
    }
    c.data = std::string(data);
  }
  r.command = std::move(c);
  return r;
}

}  // namespace peercable::cable
