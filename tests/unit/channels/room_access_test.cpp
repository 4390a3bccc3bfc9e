// Who may join which P2P room: public patterns, guests, grants from the app, signed room names.
#include "channels/room_access.hpp"

#include <gtest/gtest.h>

#include "auth/signed_stream.hpp"

using namespace peercable::channels;
using peercable::auth::Identity;

TEST(RoomAccess, PatternMatching) {
  EXPECT_TRUE(room_pattern_match("*", "anything"));
  EXPECT_TRUE(room_pattern_match("lobby", "lobby"));
  EXPECT_FALSE(room_pattern_match("lobby", "lobby2"));
  EXPECT_TRUE(room_pattern_match("team-*", "team-"));
  EXPECT_TRUE(room_pattern_match("team-*", "team-red"));
  EXPECT_FALSE(room_pattern_match("team-*", "teams"));
  EXPECT_TRUE(room_pattern_match("*-ops-*", "eu-ops-1"));
  EXPECT_FALSE(room_pattern_match("*-ops-*", "eu-ops"));
  EXPECT_TRUE(room_pattern_match("a*b*c", "axxbyyc"));
  EXPECT_FALSE(room_pattern_match("a*b*c", "axxbyy"));
  EXPECT_FALSE(room_pattern_match("", "x"));
  // Many stars against a long near-miss stays fast (no exponential backtracking).
  EXPECT_FALSE(room_pattern_match("*a*a*a*a*a*a*a*a*b", std::string(60, 'a')));
}

TEST(RoomAccess, PublicPrivateGuestsGrantsAndSignedNames) {
  RoomAccessOptions options;
  options.public_rooms = {"lobby", "help-*"};
  options.signing_key = "room-key";
  Identity user{"u1", "Ann"};
  Identity guest{"g_1", "Guest"};
  guest.guest = true;
  Identity member{"u2", "Bo"};
  member.rooms = {"team-*"};

  EXPECT_TRUE(decide_room_access("lobby", guest, "", options).allowed);
  EXPECT_TRUE(decide_room_access("help-desk", user, "", options).allowed);
  EXPECT_FALSE(decide_room_access("team-red", user, "", options).allowed);
  EXPECT_TRUE(decide_room_access("team-red", member, "", options).allowed);
  EXPECT_FALSE(decide_room_access("ops", member, "", options).allowed);

  const std::string signed_ops = peercable::auth::sign_stream_name("ops", "room-key");
  EXPECT_TRUE(decide_room_access("ops", user, signed_ops, options).allowed);
  EXPECT_FALSE(decide_room_access("ops2", user, signed_ops, options).allowed);  // signed for another room
  EXPECT_FALSE(decide_room_access("ops", user, peercable::auth::sign_stream_name("ops", "other"), options).allowed);
  // Guests stay in public rooms, whatever they present.
  guest.rooms = {"*"};
  EXPECT_FALSE(decide_room_access("ops", guest, signed_ops, options).allowed);
  EXPECT_STRNE(decide_room_access("ops", guest, signed_ops, options).reason, "");
  // No key: signed names open nothing.
  options.signing_key.clear();
  EXPECT_FALSE(decide_room_access("ops", user, signed_ops, options).allowed);
  // The default: every room is public.
  EXPECT_TRUE(decide_room_access("anything", guest, "", RoomAccessOptions{}).allowed);
}
