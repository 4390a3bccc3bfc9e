#include "auth/hook_answer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>

namespace peercable::auth {

namespace {

HookAnswer invalid(std::string reason) {
  HookAnswer a;
  a.kind = HookAnswerKind::kInvalid;
  a.reason = std::move(reason);
  return a;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

}  // namespace

HookAnswer read_hook_answer(unsigned status, std::string_view body) {
  if (status == 401 || status == 403) {
    HookAnswer a;
    a.kind = HookAnswerKind::kRefused;
    a.reason = "the app refused (" + std::to_string(status) + ")";
    return a;
  }
  if (status != 200) return invalid("the app answered " + std::to_string(status));
  if (body.size() > kHookMaxBody) return invalid("the app's answer is larger than 16 KiB");
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body.data(), body.size()).get(doc))
    return invalid(std::string("the app's answer is not JSON (") + simdjson::error_message(err) + ")");
  if (!doc.is_object()) return invalid("the app's answer is not a JSON object");
  Identity who;
  simdjson::dom::element id;
  if (doc["id"].get(id)) return invalid("the app's answer has no id");
  std::string_view id_text;
  std::int64_t id_signed = 0;
  std::uint64_t id_unsigned = 0;
  if (id.get(id_text) == simdjson::SUCCESS) {
    who.id = std::string(id_text);
  } else if (id.get(id_signed) == simdjson::SUCCESS) {
    who.id = std::to_string(id_signed);
  } else if (id.get(id_unsigned) == simdjson::SUCCESS) {
    who.id = std::to_string(id_unsigned);
  } else {
    return invalid("the app's id is neither a string nor an integer");
  }
  if (who.id.empty()) return invalid("the app's id is empty");
  if (who.id.size() > kHookMaxIdBytes) return invalid("the app's id is longer than 128 bytes");
  if (has_control(who.id)) return invalid("the app's id contains control characters");
  simdjson::dom::element name;
  if (doc["name"].get(name) == simdjson::SUCCESS && !name.is_null()) {
    std::string_view text;
    if (name.get(text)) return invalid("the app's name is not a string");
    if (has_control(text)) return invalid("the app's name contains control characters");
    // simdjson has checked the UTF-8: every byte that is not a continuation byte starts a character.
    auto chars = std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; });
    if (static_cast<std::size_t>(chars) > kHookMaxNameChars)
      return invalid("the app's name is longer than 40 characters");
    who.name = std::string(text);
  }
  if (who.name.empty()) who.name = who.id;
  simdjson::dom::element rooms;
  if (doc["rooms"].get(rooms) == simdjson::SUCCESS && !rooms.is_null() && !read_room_patterns(rooms, who.rooms))
    return invalid("the app's rooms is not a list of at most 64 room patterns of 1 to 128 bytes");
  HookAnswer a;
  a.kind = HookAnswerKind::kAccepted;
  a.identity = std::move(who);
  return a;
}

}  // namespace peercable::auth
