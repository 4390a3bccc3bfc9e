#include "channels/p2p_messages.hpp"

#include "json/writer.hpp"

namespace peercable::channels {

namespace {
void append_user(std::string& out, const auth::Identity& who) {
  json::ObjectWriter w(out);
  w.key("id").str(who.id).key("name").str(who.name);
  w.end();
}
}  // namespace

std::string room_stream(std::string_view room) {
  return "p2p:" + std::string(room);
}

std::string user_stream(std::string_view user) {
  return "p2p:user:" + std::string(user);
}

bool valid_room(std::string_view room, std::size_t max_chars) {
  if (room.empty() || room.size() > max_chars) return false;
  for (char c : room) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string clean_body(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    auto c = static_cast<unsigned char>(body[i]);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) continue;
    // C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8.
    if (c == 0xC2 && i + 1 < body.size() && static_cast<unsigned char>(body[i + 1]) < 0xA0) {
      ++i;
      continue;
    }
    out += static_cast<char>(c);
  }
  return out;
}

bool blank_body(std::string_view body) {
  for (char c : body)
    if (c != ' ' && c != '\n' && c != '\t') return false;
  return true;
}

std::string error_json(std::string_view code, std::string_view message) {
  std::string out;
  json::ObjectWriter w(out);
  w.key("type").str("error").key("code").str(code).key("message").str(message);
  w.end();
  return out;
}

std::string room_message(std::string_view id, std::string_view room, const auth::Identity& from, std::string_view body,
                         std::int64_t sent_at_ms) {
  std::string msg;
  json::ObjectWriter w(msg);
  w.key("type").str("message").key("id").str(id).key("room").str(room).key("from");
  append_user(msg, from);
  w.key("body").str(body).key("sent_at").num(sent_at_ms);
  w.end();
  return msg;
}

std::string direct_message(std::string_view id, std::string_view room, const auth::Identity& from, std::string_view to,
                           std::string_view body, std::int64_t sent_at_ms) {
  std::string msg;
  json::ObjectWriter w(msg);
  w.key("type").str("direct").key("id").str(id).key("room").str(room).key("from");
  append_user(msg, from);
  w.key("to").str(to).key("body").str(body).key("sent_at").num(sent_at_ms);
  w.end();
  return msg;
}

std::string signal_message(std::string_view room, const auth::Identity& from, std::string_view to,
                           std::string_view signal_json) {
  std::string msg;
  json::ObjectWriter w(msg);
  w.key("type").str("signal").key("room").str(room).key("from");
  append_user(msg, from);
  w.key("to").str(to).key("signal").raw(signal_json);
  w.end();
  return msg;
}

std::string typing_message(std::string_view room, const auth::Identity& from) {
  std::string msg;
  json::ObjectWriter w(msg);
  w.key("type").str("typing").key("room").str(room).key("from");
  append_user(msg, from);
  w.end();
  return msg;
}

}  // namespace peercable::channels
