#include "channels/p2p_channel.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "cable/cable_server.hpp"
#include "cable/session.hpp"
#include "cable/subscription.hpp"
#include "channels/p2p_messages.hpp"
#include "json/writer.hpp"
#include "net/limit.hpp"
#include "ws/utf8.hpp"

namespace peercable::channels {
namespace {

// What a P2PChannel subscription holds: its room.
struct RoomState final : cable::ChannelState {
  explicit RoomState(std::string_view r) : room(r) {}
  std::string room;
};

const std::string& room_of(cable::Subscription& sub) {
  return sub.state<RoomState>()->room;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

P2PChannel::P2PChannel(P2POptions options, store::PresenceStore& presence, store::HistoryStore& history,
                       store::StoreWorker& worker, cable::CableServer& server)
    : options_(options),
      presence_(presence),
      history_(history),
      worker_(worker),
      rooms_(options.max_rooms, options.room_ttl),
      feed_(presence, options.presence_list_max, options.presence_window,
            [&server](const std::string& room, std::string json) {
              server.broadcast(room_stream(room), std::move(json));
            }) {
  worker_.every(options_.presence_window, [this] { feed_.flush(); });
  // Rooms left in the store by an earlier run expire like the others (first job: no loop waits for it).
  worker_.post([this] {
    for (const auto& room : history_.rooms()) rooms_.adopt(room);
  });
  worker_.every(std::chrono::seconds(1), [this] {
    auto gone = rooms_.expired();
    if (!gone.empty()) history_.forget(gone);
  });
  unsigned char r[4];
  RAND_bytes(r, sizeof r);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : r) {
    node_prefix_ += kHex[c >> 4];
    node_prefix_ += kHex[c & 15];
  }
}

std::string P2PChannel::next_id() {
  return node_prefix_ + "-" + std::to_string(counter_.fetch_add(1, std::memory_order_relaxed) + 1);
}

bool P2PChannel::subscribed(cable::Subscription& sub, simdjson::dom::object params) {
  std::string_view room;
  if (params["room"].get(room)) return false;
  if (!valid_room(room, options_.max_room_name)) {
    if (room.size() > options_.max_room_name) net::count_refusal(net::Limit::kRoomName);
    return false;
  }
  std::string_view signed_room;
  if (params["signed_room"].error() == simdjson::SUCCESS && params["signed_room"].get(signed_room)) return false;
  if (auto access = decide_room_access(room, sub.user(), signed_room, options_.access); !access.allowed) {
    spdlog::info("session {}: P2PChannel room {} refused: {}", sub.session().id(), room, access.reason);
    return false;
  }
  if (!rooms_.admits(std::string(room))) {
    rooms_refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  sub.set_state(std::make_unique<RoomState>(room));
  sub.stream_from(room_stream(room));
  sub.stream_from(user_stream(sub.user().id));
  return true;
}

void P2PChannel::confirmed(cable::Subscription& sub) {
  const std::string& room = room_of(sub);
  rooms_.acquire(room);
  // The store answers on its worker; the snapshot and history come back to this loop, after the confirmation,
  // in that order. Always queued: one per subscription, which the subscription limits bound.
  std::weak_ptr<cable::Subscription> weak = sub.weak_from_this();
  net::Loop& loop = sub.session().loop_state().loop;
  if (sub.restored()) {
    // A restored session (extended protocol): the client has the room already, and the presence changes
    // and messages it missed come back through its stream history.
    worker_.post([this, room, who = sub.user()] {
      if (presence_.join(room, who)) feed_.joined(room, who);
    });
    return;
  }
  worker_.post([this, room, who = sub.user(), weak, &loop] {
    if (presence_.join(room, who)) feed_.joined(room, who);
    std::string snapshot = feed_.snapshot(room);
    std::string hist;
    json::ObjectWriter w(hist);
    w.key("type").str("history").key("room").str(room).key("messages");
    hist += '[';
    bool first = true;
    for (const auto& m : history_.latest(room)) {
      if (!first) hist += ',';
      first = false;
      hist += m;
    }
    hist += ']';
    w.end();
    loop.post([weak, snapshot = std::move(snapshot), hist = std::move(hist)] {
      auto s = weak.lock();
      if (!s) return;
      s->transmit(snapshot);
      s->transmit(hist);
    });
  });
}

std::string P2PChannel::whisper_stream(cable::Subscription& sub) {
  return room_stream(room_of(sub));
}

void P2PChannel::unsubscribed(cable::Subscription& sub) {
  rooms_.release(room_of(sub));
  worker_.post([this, room = room_of(sub), who = sub.user()] {
    if (presence_.leave(room, who)) feed_.left(room, who);
  });
}

void P2PChannel::perform(cable::Subscription& sub, std::string_view action, simdjson::dom::object data) {
  if (action == "speak") return speak(sub, data);
  if (action == "direct") return direct(sub, data);
  if (action == "signal") return signal(sub, data);
  if (action == "typing") return typing(sub);
  if (action == "members") return members(sub, data);
  // Rails only logs an unknown action; we tell the client, on this subscription only.
  sub.transmit(error_json("unknown_action", "unknown action: " + std::string(ws::utf8_prefix(action, 64))));
}

bool P2PChannel::read_body(cable::Subscription& sub, simdjson::dom::object data, std::string& body) {
  std::string_view raw;
  if (data["body"].get(raw)) {
    sub.transmit(error_json("invalid_body", "body must be a string"));
    return false;
  }
  if (raw.size() > options_.max_body_bytes) {
    net::count_refusal(net::Limit::kActionSize);
    sub.transmit(
        error_json("body_too_long", "body is longer than " + std::to_string(options_.max_body_bytes) + " bytes"));
    return false;
  }
  body = clean_body(raw);
  if (blank_body(body)) {
    sub.transmit(error_json("empty_body", "body is empty"));
    return false;
  }
  return true;
}

bool P2PChannel::read_target(cable::Subscription& sub, simdjson::dom::object data, std::string& to) {
  std::string_view t;
  if (data["to"].get(t) || t.empty() || t.size() > 128) {
    sub.transmit(error_json("invalid_recipient", "to must be a user id"));
    return false;
  }
  to = std::string(t);
  return true;
}

void P2PChannel::speak(cable::Subscription& sub, simdjson::dom::object data) {
  std::string body;
  if (!read_body(sub, data, body)) return;
  const std::string& room = room_of(sub);
  std::string msg = room_message(next_id(), room, sub.user(), body, now_ms());
  // When the store is behind, the message is still delivered; only its place in history is lost (counted).
  worker_.try_post([this, room, msg] { history_.append(room, msg); }, "history append");
  sub.broadcast(room_stream(room), std::move(msg));
}

void P2PChannel::direct(cable::Subscription& sub, simdjson::dom::object data) {
  std::string to, body;
  if (!read_target(sub, data, to) || !read_body(sub, data, body)) return;
  std::string msg = direct_message(next_id(), room_of(sub), sub.user(), to, body, now_ms());
  if (to != sub.user().id) sub.broadcast(user_stream(sub.user().id), msg);
  sub.broadcast(user_stream(to), std::move(msg));
}

void P2PChannel::signal(cable::Subscription& sub, simdjson::dom::object data) {
  std::string to;
  if (!read_target(sub, data, to)) return;
  simdjson::dom::object sig;
  if (data["signal"].get(sig)) {
    sub.transmit(error_json("invalid_signal", "signal must be an object"));
    return;
  }
  std::string sig_json;
  json::append_value(sig_json, sig);
  if (sig_json.size() > options_.max_signal_bytes) {
    net::count_refusal(net::Limit::kActionSize);
    sub.transmit(error_json("signal_too_large",
                            "signal is larger than " + std::to_string(options_.max_signal_bytes) + " bytes"));
    return;
  }
  sub.broadcast(user_stream(to), signal_message(room_of(sub), sub.user(), to, sig_json));
}

void P2PChannel::typing(cable::Subscription& sub) {
  const std::string& room = room_of(sub);
  sub.broadcast(room_stream(room), typing_message(room, sub.user()));
}

void P2PChannel::members(cable::Subscription& sub, simdjson::dom::object data) {
  std::string_view after;
  if (data["after"].error() != simdjson::NO_SUCH_FIELD && (data["after"].get(after) || after.size() > 128)) {
    sub.transmit(error_json("invalid_after", "after must be a user id"));
    return;
  }
  std::weak_ptr<cable::Subscription> weak = sub.weak_from_this();
  net::Loop& loop = sub.session().loop_state().loop;
  bool queued = worker_.try_post(
      [this, room = room_of(sub), after = std::string(after), weak, &loop] {
        loop.post([weak, page = feed_.page(room, after)] {
          if (auto s = weak.lock()) s->transmit(page);
        });
      },
      "member page");
  if (!queued) sub.transmit(error_json("busy", "presence is busy; try again"));
}

}  // namespace peercable::channels
