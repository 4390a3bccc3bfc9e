#include "cable/command.hpp"

#include <simdjson.h>

#include <cstdint>

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

namespace {
bool read_count(simdjson::dom::element e, std::uint64_t& out) {
  std::uint64_t u;
  if (e.get(u) == simdjson::SUCCESS) {
    out = u;
    return true;
  }
  std::int64_t i;
  if (e.get(i) == simdjson::SUCCESS && i >= 0) {
    out = static_cast<std::uint64_t>(i);
    return true;
  }
  return false;
}
}  // namespace

std::optional<HistoryRequest> parse_history(simdjson::dom::element value) {
  simdjson::dom::object h;
  if (value.get(h)) return std::nullopt;
  HistoryRequest req;
  auto since = h["since"];
  if (since.error() == simdjson::SUCCESS && !since.is_null()) {
    std::uint64_t s;
    double d;
    if (read_count(since.value_unsafe(), s) && s <= static_cast<std::uint64_t>(INT64_MAX)) {
      req.since = static_cast<std::int64_t>(s);
    } else if (since.get(d) == simdjson::SUCCESS && d >= 0 && d < 9.0e15) {
      req.since = static_cast<std::int64_t>(d);  // a client may send fractional seconds
    } else {
      return std::nullopt;
    }
  }
  auto streams = h["streams"];
  if (streams.error() == simdjson::SUCCESS && !streams.is_null()) {
    simdjson::dom::object map;
    if (streams.get(map)) return std::nullopt;
    for (auto [key, pos] : map) {
      if (req.streams.size() >= kMaxHistoryStreams) return std::nullopt;
      if (key.empty() || key.size() > kMaxHistoryStreamBytes) return std::nullopt;
      simdjson::dom::object p;
      std::string_view epoch;
      std::uint64_t offset;
      if (pos.get(p) || p["epoch"].get(epoch) || epoch.empty() || epoch.size() > kMaxEpochBytes) return std::nullopt;
      auto off = p["offset"];
      if (off.error() || !read_count(off.value_unsafe(), offset)) return std::nullopt;
      req.streams.push_back({std::string(key), std::string(epoch), offset});
    }
  }
  return req;
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
  if (name == "pong") {
    c.kind = Command::Kind::kPong;
    r.command = std::move(c);
    return r;
  }
  if (name == "subscribe") {
    c.kind = Command::Kind::kSubscribe;
  } else if (name == "unsubscribe") {
    c.kind = Command::Kind::kUnsubscribe;
  } else if (name == "message") {
    c.kind = Command::Kind::kMessage;
  } else if (name == "history") {
    c.kind = Command::Kind::kHistory;
  } else if (name == "whisper") {
    c.kind = Command::Kind::kWhisper;
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
  if (c.kind == Command::Kind::kWhisper) {
    simdjson::dom::object data;
    if (obj["data"].get(data)) {
      r.error = CommandError::kBadData;
      return r;
    }
    c.data = simdjson::minify(data);
  }
  if (c.kind == Command::Kind::kSubscribe || c.kind == Command::Kind::kHistory) {
    auto h = obj["history"];
    if (h.error() == simdjson::SUCCESS) {
      c.history = parse_history(h.value_unsafe());
      c.history_malformed = !c.history;
    } else if (c.kind == Command::Kind::kHistory) {
      c.history_malformed = true;
    }
  }
  r.command = std::move(c);
  return r;
}

}  // namespace peercable::cable
