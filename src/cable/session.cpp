#include "cable/session.hpp"

#include <openssl/evp.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "cable/broadcast.hpp"
#include "cable/cable_server.hpp"
#include "cable/channel.hpp"
#include "cable/command.hpp"
#include "cable/stream_log.hpp"
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

constexpr auto kHoldWindow = std::chrono::seconds(5);

// What the sign-in material of a connection was, without keeping it: a restore needs the same.
std::string digest_of(const auth::Credentials& c) {
  std::string material = c.token;
  material += '\0';
  material += c.cookie_header;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(material.data(), material.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace

CableSession::CableSession(CableServer& server, LoopState& loop, ws::Transport& conn)
    : server_(server), loop_(loop), conn_(conn), id_(server.next_session_id()) {}

CableSession::~CableSession() {
  if (alive_) *alive_ = false;
}

void CableSession::authenticate(const auth::AuthChain& chain, std::shared_ptr<const auth::Credentials> credentials) {
  if (ext_) {
    credentials_digest_ = digest_of(*credentials);
    if (!restore_sid_.empty() && server_.sessions().remote()) return restore_remote(chain, std::move(credentials));
    if (!restore_sid_.empty()) {
      auto saved = server_.sessions().find(restore_sid_);
      const bool taken = saved && saved->credentials == credentials_digest_ && server_.sessions().take(restore_sid_);
      if (resume_from(std::move(saved), taken)) return;
    }
  }
  sign_in(chain, std::move(credentials));
}

bool CableSession::resume_from(std::optional<SavedSession> saved, bool taken) {
  if (saved && taken) {
    restore_ = std::move(saved);
    signed_in(restore_->user, "");
    return true;
  }
  candidate_ = std::move(saved);  // other sign-in material: restore only if it names the same user
  return false;
}

void CableSession::restore_remote(const auth::AuthChain& chain, std::shared_ptr<const auth::Credentials> credentials) {
  // The saved session is in Redis: the lookup runs on the store thread, and the sign-in goes on when it answers
  // (commands are held meanwhile, as while signing in).
  alive_ = std::make_shared<bool>(true);
  std::weak_ptr<bool> alive = alive_;
  net::Loop& loop = loop_.loop;
  server_.sessions().remote()->claim(
      restore_sid_, credentials_digest_,
      [this, alive, &loop, &chain, credentials](std::optional<SavedSession> saved, bool taken) {
        loop.post([this, alive, &chain, credentials, saved = std::move(saved), taken]() mutable {
          auto a = alive.lock();
          if (!a || !*a) return;  // the connection is gone
          if (!resume_from(std::move(saved), taken)) sign_in(chain, std::move(credentials));
        });
      });
}

void CableSession::sign_in(const auth::AuthChain& chain, std::shared_ptr<const auth::Credentials> credentials) {
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
    if (candidate_) {
      // Another user's session id (or a stale one) gives a fresh session: nothing of it is shown or changed.
      if (candidate_->user.id == who->id && server_.sessions().take(restore_sid_)) restore_ = std::move(candidate_);
      candidate_.reset();
    }
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
  welcome();
  server_.register_session(loop_, this);
  auto held = std::move(held_);
  held_bytes_ = 0;
  for (const auto& command : held) {
    if (closed_) break;
    handle(command);
  }
}

void CableSession::welcome() {
  if (!ext_) {
    conn_.send_text(kWelcome);
    return;
  }
  sid_ = SessionStore::new_sid();
  std::string w = R"({"type":"welcome","sid":")";
  w += sid_;
  w += '"';
  if (!restore_) {
    w += '}';
    conn_.send_text(w);
    return;
  }
  // The saved subscriptions come back without their confirmations (the client has them); each holds its
  // broadcasts back until the client's history request for it, so that nothing comes twice or out of order.
  auto saved = std::move(*restore_);
  restore_.reset();
  std::vector<std::shared_ptr<Subscription>> back;
  w += R"(,"restored":true,"restored_ids":[)";
  for (const auto& identifier : saved.identifiers) {
    auto sub = open(identifier, true);
    if (!sub) continue;
    if (!back.empty()) w += ',';
    json::append_string(w, identifier);
    back.push_back(std::move(sub));
  }
  w += "]}";
  conn_.send_text(w);
  if (!back.empty()) {
    holding_ = true;
    hold_until_ = std::chrono::steady_clock::now() + kHoldWindow;
  }
  spdlog::debug("session {}: restored {} of {} subscriptions", id_, back.size(), saved.identifiers.size());
  for (auto& sub : back) sub->on_stream_ready();  // the guard open() left
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
  if (ext_ && welcomed_ && !sid_.empty()) {
    SavedSession saved{*user_, credentials_digest_, {}};
    for (const auto& [identifier, sub] : subs_)
      if (sub->confirmed_ && sub->active_) saved.identifiers.push_back(identifier);
    server_.sessions().save(sid_, std::move(saved));
  }
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
  return rate == 0 || command_bucket_.take(std::chrono::steady_clock::now(), 2.0 * rate, rate);
}

void CableSession::handle(std::string_view payload) {
  auto parsed = parse_command(payload);
  if (!parsed.command) {
    spdlog::debug("session {}: ignored command: {}", id_, to_string(parsed.error));
    return;
  }
  auto& c = *parsed.command;
  if (!ext_ && c.kind != Command::Kind::kSubscribe && c.kind != Command::Kind::kUnsubscribe &&
      c.kind != Command::Kind::kMessage) {
    spdlog::debug("session {}: ignored command: {}", id_, to_string(CommandError::kUnknownCommand));
    return;  // history, whisper and pong are the extended protocol's
  }
  switch (c.kind) {
    case Command::Kind::kSubscribe:
      if (!ext_) return subscribe(std::move(c.identifier));
      return subscribe(std::move(c.identifier), std::move(c.history), c.history_malformed);
    case Command::Kind::kUnsubscribe: return unsubscribe(c.identifier);
    case Command::Kind::kMessage: return message(c.identifier, c.data);
    case Command::Kind::kHistory: return history(c.identifier, std::move(c.history), c.history_malformed);
    case Command::Kind::kWhisper: return whisper(c.identifier, c.data);
    case Command::Kind::kPong: return;  // the client's answer to a ping: it is alive, nothing to say
  }
}

void CableSession::subscribe(std::string identifier, std::optional<HistoryRequest> history, bool history_malformed) {
  // A repeated subscribe (the client re-sends until confirmed) is ignored, as in Rails.
  if (subs_.count(identifier)) return;
  const auto& limits = server_.session_limits();
  if (limits.identifier_bytes != 0 && identifier.size() > limits.identifier_bytes) {
    net::count_refusal(net::Limit::kIdentifier);
    conn_.send_text(type_reply(identifier, "reject_subscription"));
    return;
  }
  if (limits.subscriptions != 0 && subs_.size() >= limits.subscriptions) {
    net::count_refusal(net::Limit::kSubscriptions);
    conn_.send_text(type_reply(identifier, "reject_subscription"));
    return;
  }
  auto sub = open(identifier, false);
  if (!sub) return;
  if (history || history_malformed) {
    // Served right after the confirmation; until then the subscription's broadcasts wait.
    sub->history_ = std::move(history);
    sub->history_malformed_ = history_malformed;
    for (auto& ref : sub->stream_refs_) ref.held = true;
  }
  sub->on_stream_ready();
}

std::shared_ptr<Subscription> CableSession::open(const std::string& identifier, bool restored) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::object params;
  std::string_view channel_name;
  if (parser.parse(identifier).get(doc) || doc.get(params) || params["channel"].get(channel_name)) {
    spdlog::debug("session {}: subscribe with a bad identifier", id_);
    return nullptr;
  }
  Channel* channel = server_.find_channel(channel_name);
  if (!channel) {
    // Rails logs "Subscription class not found" and sends nothing (no reject).
    spdlog::debug("session {}: no channel {}", id_, net::loggable(channel_name, 100));
    return nullptr;
  }
  auto sub = std::make_shared<Subscription>(*this, identifier, *channel);
  sub->restored_ = restored;
  subs_.emplace(identifier, sub);
  sub->pending_ = 1;  // guard: no confirmation before subscribed() has returned (the caller drops it)
  if (!channel->subscribed(*sub, params)) {
    subs_.erase(identifier);
    remove(*sub);
    if (!restored) conn_.send_text(type_reply(identifier, "reject_subscription"));
    return nullptr;
  }
  if (restored)
    for (auto& ref : sub->stream_refs_) ref.held = true;
  return sub;
}

void CableSession::confirm(Subscription& sub) {
  if (sub.confirmed_ || !sub.active_) return;
  sub.confirmed_ = true;
  if (!sub.restored_) conn_.send_text(type_reply(sub.identifier(), "confirm_subscription"));
  sub.channel().confirmed(sub);
  if (!sub.active_) return;
  if (sub.history_ || sub.history_malformed_) serve_history(sub);
}

// ---- Extended protocol: whisper (history: session_history.cpp) --------------------------------

void CableSession::whisper(const std::string& identifier, const std::string& data) {
  auto it = subs_.find(identifier);
  if (it == subs_.end() || !it->second->confirmed_) return;
  Subscription& sub = *it->second;
  std::string stream = sub.channel().whisper_stream(sub);
  if (stream.empty()) {
    spdlog::debug("session {}: whisper refused: {} takes none", id_, sub.channel().name());
    return;
  }
  server_.whisper(stream, data, id_);
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

}  // namespace peercable::cable
