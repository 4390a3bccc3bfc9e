#include "channels/room_access.hpp"

#include "auth/signed_stream.hpp"

namespace peercable::channels {

bool room_pattern_match(std::string_view pattern, std::string_view name) {
  // Iterative glob with one backtrack point: linear in practice, never exponential.
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

RoomDecision decide_room_access(std::string_view room, const auth::Identity& who, std::string_view signed_room,
                                const RoomAccessOptions& options) {
  for (const auto& pattern : options.public_rooms)
    if (room_pattern_match(pattern, room)) return {true, "public room"};
  if (who.guest) return {false, "private room; guests may join public rooms only"};
  for (const auto& pattern : who.rooms)
    if (room_pattern_match(pattern, room)) return {true, "granted by the app"};
  if (!signed_room.empty()) {
    if (options.signing_key.empty()) return {false, "private room; signed room names are not accepted (no key)"};
    auto r = auth::verify_signed_stream(signed_room, options.signing_key, true);
    if (!r.stream) return {false, "private room; the signed room name does not verify"};
    if (*r.stream != room) return {false, "private room; the signed room name is for another room"};
    return {true, "signed by the app"};
  }
  return {false, "private room; not granted to this user"};
}

}  // namespace peercable::channels
