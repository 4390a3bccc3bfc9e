#pragma once
// Who may join which P2P room. Public rooms (the operator's patterns) are open to everyone signed in,
// guests included; any other room is private: open to a signed-in user (not a guest) whom the app granted it,
// through a `rooms` claim of its JWT or of its HTTP hook's answer, or who presents a room name the app signed.
// Pure: no I/O, no logging.
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"

namespace peercable::channels {

struct RoomAccessOptions {
  std::vector<std::string> public_rooms{"*"};  // patterns; '*' matches any run of characters
  std::string signing_key;                     // HMAC key of signed room names; empty: none accepted
};

/// The answer for one subscription: allowed, or why not (for the log).
struct RoomDecision {
  bool allowed = false;
  const char* reason = "";
};

/// True when `name` matches `pattern`, where '*' stands for any run of characters (none included).
bool room_pattern_match(std::string_view pattern, std::string_view name);

/// Decides whether `who` may join `room`; `signed_room` is the identifier's `signed_room` value, if any (a
/// name signed as turbo-rails signs stream names, with the room signing key).
RoomDecision decide_room_access(std::string_view room, const auth::Identity& who, std::string_view signed_room,
                                const RoomAccessOptions& options);

}  // namespace peercable::channels
