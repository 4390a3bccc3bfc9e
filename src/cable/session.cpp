#include "cable/session.hpp"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "cable/broadcast.hpp"
#include "cable/cable_server.hpp"
#include "cable/channel.hpp"
#include "cable/command.hpp"
#include "cable/subscription.hpp"
#include "json/writer.hpp"
#include "net/loggable.hpp"

namespace peercable::cable {

namespace {
constexpr std::string_view kWelcome = R"({"type":"welcome"})";
constexpr std::string_view kUnauthorized = R"({"type":"disconnect","reason":"unauthorized","reconnect":false})";
constexpr std::size_t kMaxHeld = 64;
constexpr std::size_t kMaxHeldBytes = 256 * 1024;
constexpr std::string_view kRateLimited = R"({"type":"disconnect","reason":"rate_limited","reconnect":true})";
constexpr std::string_view kRestart = R"({"type":"disconnect","reason":"server_restart","reconnect":true})";

std::string reply(std::string_view identifier, std::string_view type) {
  std::string out = "{\"identifier\":";
  json::append_string(out, identifier);
  out += ",\"type\":\"";
  out += type;
  out += "\"}";
  return out;
}
}  // namespace

CableSession::CableSession(CableServer& server, LoopState& loop, http::Connection& conn)
    : server_(server), loop_(loop), conn_(conn), id_(server.next_session_id()) {}

CableSession::~CableSession() {
  if (alive_) *alive_ = false;
}

void CableSession::authenticate(const auth::AuthChain& chain, std::shared_ptr<const auth::Credentials> credentials) {
  alive_ = std::make_shared<bool>(true);
  std::weak_ptr<bool> alive = alive_;
  chain.authenticate(std::move(credentials), [this, alive](std::optional<auth::Identity> who, std::string why) {
    auto a = alive.lock();
    if (!a || !*a) return;  // the connection is gone
    signed_in(std::move(who), why);
  });
  if (auth_ != Auth::kPending) alive_.reset();  // answered already: nothing will call back
}

void CableSession::signed_in(std::optional<auth::Identity> who, const std::string& why) {
  if (auth_ != Auth::kPending) return;
  if (who) {
    user_ = std::move(who);
    auth_ = Auth::kAccepted;
  } else {
    auth_ = Auth::kRefused;
    loop_.loop.counters().unauthorized.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("unauthorized connection from {}: {}", conn_.remote_address(), why);
  }
  if (opened_) start();
}

void CableSession::on_open() {
  opened_ = true;
  if (auth_ != Auth::kPending) start();
}

void CableSession::start() {
  if (closed_) return;
  if (auth_ == Auth::kRefused) {
    // As Rails: the upgrade succeeds, then the refusal and a normal close; never a welcome.
    held_.clear();
    conn_.send_text(kUnauthorized);
    conn_.close(ws::close_code::kNormal);
    return;
  }
  welcomed_ = true;
  conn_.send_text(kWelcome);
  server_.register_session(loop_, this);
  auto held = std::move(held_);
  held_bytes_ = 0;
  for (const auto& command : held) {
    if (closed_) break;
    handle(command);
  }
}

void CableSession::on_shutdown() {
  if (welcomed_) conn_.send_text(kRestart);
}

void CableSession::restart() {
  on_shutdown();
  conn_.close(ws::close_code::kGoingAway, "server restarting");
}

void CableSession::on_closed() {
  if (closed_) return;
  closed_ = true;
  if (welcomed_) server_.unregister_session(loop_, this);
  auto subs = std::move(subs_);
  for (auto& [id, sub] : subs) remove(*sub);
}

void CableSession::on_message(ws::Opcode op, std::string_view payload) {
  // Rails ignores binary messages ("Couldn't handle non-string message"), and so do we.
  if (op != ws::Opcode::kText) return;
  if (!welcomed_) {
    // Signing in may take a round trip to the app: hold what the client sends meanwhile (bounded).
    if (auth_ == Auth::kPending && held_.size() < kMaxHeld && held_bytes_ + payload.size() <= kMaxHeldBytes) {
      held_bytes_ += payload.size();
      held_.emplace_back(payload);
    }
    return;
  }
  if (!within_rate()) {
    net::count_refusal(net::Limit::kCommands);
    spdlog::info("session {} from {}: over {} commands per second; disconnected", id_, conn_.remote_address(),
                 server_.session_limits().commands_per_second);
    conn_.send_text(kRateLimited);
    conn_.close(ws::close_code::kPolicyViolation, "too many commands");
    return;
  }
  handle(payload);
}

bool CableSession::within_rate() {
  const unsigned rate = server_.session_limits().commands_per_second;
  if (rate == 0) return true;
  const auto now = std::chrono::steady_clock::now();
  const double burst = 2.0 * rate;
  if (rate_refilled_ == std::chrono::steady_clock::time_point{}) {
    rate_tokens_ = burst;
  } else {
    rate_tokens_ = std::min(burst, rate_tokens_ + std::chrono::duration<double>(now - rate_refilled_).count() * rate);
  }
  rate_refilled_ = now;
  if (rate_tokens_ < 1) return false;
  rate_tokens_ -= 1;
  return true;
}

void CableSession::handle(std::string_view payload) {
  auto parsed = parse_command(payload);
  if (!parsed.command) {
    spdlog::debug("session {}: ignored command: {}", id_, to_string(parsed.error));
    return;
  }
  auto& c = *parsed.command;
  switch (c.kind) {
    case Command::Kind::kSubscribe: return subscribe(std::move(c.identifier));
    case Command::Kind::kUnsubscribe: return unsubscribe(c.identifier);
    case Command::Kind::kMessage: return message(c.identifier, c.data);
  }
}

void CableSession::subscribe(std::string identifier) {
  // A repeated subscribe (the client re-sends until confirmed) is ignored, as in Rails.
  if (subs_.count(identifier)) return;
  const auto& limits = server_.session_limits();
  if (limits.identifier_bytes != 0 && identifier.size() > limits.identifier_bytes) {
    net::count_refusal(net::Limit::kIdentifier);
    conn_.send_text(reply(identifier, "reject_subscription"));
    return;
  }
  if (limits.subscriptions != 0 && subs_.size() >= limits.subscriptions) {
    net::count_refusal(net::Limit::kSubscriptions);
    conn_.send_text(reply(identifier, "reject_subscription"));
    return;
  }
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::object params;
  std::string_view channel_name;
  if (parser.parse(identifier).get(doc) || doc.get(params) || params["channel"].get(channel_name)) {
    spdlog::debug("session {}: subscribe with a bad identifier", id_);
    return;
  }
  Channel* channel = server_.find_channel(channel_name);
  if (!channel) {
    // Rails logs "Subscription class not found" and sends nothing (no reject).
    spdlog::debug("session {}: no channel {}", id_, net::loggable(channel_name, 100));
    return;
  }
  auto sub = std::make_shared<Subscription>(*this, identifier, *channel);
  subs_.emplace(identifier, sub);
  sub->pending_ = 1;  // guard: no confirmation before subscribed() has returned
  if (!channel->subscribed(*sub, params)) {
    subs_.erase(identifier);
    remove(*sub);
    conn_.send_text(reply(identifier, "reject_subscription"));
    return;
  }
  sub->on_stream_ready();
}

void CableSession::confirm(Subscription& sub) {
  if (sub.confirmed_ || !sub.active_) return;
  sub.confirmed_ = true;
  conn_.send_text(reply(sub.identifier(), "confirm_subscription"));
  sub.channel().confirmed(sub);
}

void CableSession::unsubscribe(const std::string& identifier) {
  auto it = subs_.find(identifier);
  if (it == subs_.end()) return;  // Rails: "Unable to find subscription", nothing sent
  auto sub = it->second;
  subs_.erase(it);
  remove(*sub);
}

void CableSession::remove(Subscription& sub) {
  if (!sub.active_) return;
  if (sub.confirmed_) sub.channel().unsubscribed(sub);
  sub.active_ = false;
  loop_.hub.remove_all(sub);
}

void CableSession::message(const std::string& identifier, const std::string& data) {
  auto it = subs_.find(identifier);
  if (it == subs_.end()) return;
  auto sub = it->second;  // the action may unsubscribe; keep it alive until it returns
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::object obj;
  if (parser.parse(data).get(doc) || doc.get(obj)) return;  // Rails: logged, nothing sent
  std::string_view action = "receive";
  auto a = obj["action"];
  if (a.error() == simdjson::SUCCESS) {
    std::string_view s;
    if (a.get(s) == simdjson::SUCCESS) action = s;
  }
  sub->channel().perform(*sub, action, obj);
}

// ---- Subscription --------------------------------------------------------------------------------

const auth::Identity& Subscription::user() const {
  return session_.user();
}

void Subscription::stream_from(const std::string& stream) {
  ++pending_;
  std::weak_ptr<Subscription> weak = weak_from_this();
  session_.loop_state().hub.add(*this, stream, [weak] {
    if (auto s = weak.lock()) s->on_stream_ready();
  });
}

void Subscription::on_stream_ready() {
  if (!active_) return;
  if (--pending_ == 0) session_.confirm(*this);
}

void Subscription::transmit(std::string_view payload_json) {
  if (!active_) return;
  session_.send_text(envelope(identifier_, payload_json));
}

void Subscription::broadcast(const std::string& stream, std::string payload_json) {
  session_.server().broadcast(stream, std::move(payload_json));
}

}  // namespace peercable::cable
