#pragma once
// What P2PChannel checks and says, as pure functions: room names, message bodies, and the JSON of every
// message it broadcasts. No I/O, no clock, no logging: unit-tested alone.
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"

namespace peercable::channels {

/// The stream of a room's messages and presence, and the stream of one user's direct messages and signals.
std::string room_stream(std::string_view room);
std::string user_stream(std::string_view user);

/// Room names: 1 to `max_chars` characters of A-Za-z0-9_.:-
bool valid_room(std::string_view room, std::size_t max_chars = 64);
/// Removes control characters other than newline and tab (C0, DEL, C1); input is valid UTF-8.
std::string clean_body(std::string_view body);
/// True when `body` holds nothing but spaces, newlines and tabs.
bool blank_body(std::string_view body);

/// {"type":"error","code":…,"message":…}
std::string error_json(std::string_view code, std::string_view message);

/// {"type":"message","id","room","from":{"id","name"},"body","sent_at"}: a message to the room.
std::string room_message(std::string_view id, std::string_view room, const auth::Identity& from, std::string_view body,
                         std::int64_t sent_at_ms);
/// {"type":"direct","id","room","from","to","body","sent_at"}: a message to one user.
std::string direct_message(std::string_view id, std::string_view room, const auth::Identity& from, std::string_view to,
                           std::string_view body, std::int64_t sent_at_ms);
/// {"type":"signal","room","from","to","signal":<signal_json>}: WebRTC signaling for one user.
std::string signal_message(std::string_view room, const auth::Identity& from, std::string_view to,
                           std::string_view signal_json);
/// {"type":"typing","room","from"}
std::string typing_message(std::string_view room, const auth::Identity& from);

}  // namespace peercable::channels
