#pragma once
// One Action Cable connection: sign-in result, welcome/pings, commands, subscriptions.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "cable/command.hpp"
#include "cable/session_store.hpp"
#include "cable/stream_log.hpp"
#include "http/connection.hpp"
#include "net/token_bucket.hpp"
#include "ws/transport.hpp"

namespace peercable::cable {

class Broadcast;
class CableServer;
struct LoopState;
class Subscription;

class CableSession final : public http::WsSession {
 public:
  CableSession(CableServer& server, LoopState& loop, ws::Transport& conn);
  ~CableSession() override;

  /// Signs the connection in through `chain` (maybe asynchronously). Until it has answered, commands are
  /// held; then the welcome and the held commands, or the refusal and the close. An extended-protocol
  /// connection with a saved session's id (`restore_sid`) gets that session back instead, when it comes with
  /// the same sign-in material, or signs in as the same user.
  void authenticate(const auth::AuthChain& chain, std::shared_ptr<const auth::Credentials> credentials);

  /// Speaks the extended protocol (actioncable-v1-ext-json); before authenticate().
  void set_extended(std::string restore_sid) {
    ext_ = true;
    restore_sid_ = std::move(restore_sid);
  }
  bool extended() const noexcept { return ext_; }
  /// Called at every ping: lets go of broadcasts held for a history request that did not come.
  void tick() {
    if (holding_) release_overdue();
  }

  void on_open() override;
  void on_message(ws::Opcode op, std::string_view payload) override;
  void on_closed() override;
  void on_shutdown() override;

  const auth::Identity& user() const { return *user_; }
  CableServer& server() noexcept { return server_; }
  LoopState& loop_state() noexcept { return loop_; }
  std::uint64_t id() const noexcept { return id_; }
  /// Queues a message for this connection only.
  void send_text(std::string_view json) { conn_.send_text(json); }
  void send_frame(const ws::SharedFrame& f) { conn_.send_frame(f); }
  /// Tells the client the server is restarting (it reconnects, to another node behind a balancer) and closes
  /// with 1001: one share of a drain.
  void restart();
  ws::Transport& transport() noexcept { return conn_; }
  /// Closes the connection as Rails does for a remote disconnect (close 1000, no message).
  void disconnect() { conn_.close(ws::close_code::kNormal); }

  /// Sends confirm_subscription once every stream of `sub` is live.
  void confirm(Subscription& sub);

  std::size_t ping_index = 0;  // position in the loop's ping group

 private:
  void subscribe(std::string identifier, std::optional<HistoryRequest> history = std::nullopt,
                 bool history_malformed = false);
  std::shared_ptr<Subscription> open(const std::string& identifier, bool restored);
  void unsubscribe(const std::string& identifier);
  void message(const std::string& identifier, const std::string& data);
  void history(const std::string& identifier, std::optional<HistoryRequest> req, bool malformed);
  void whisper(const std::string& identifier, const std::string& data);
  void serve_history(Subscription& sub);
  void serve_remote_history(Subscription& sub);
  void finish_history(Subscription& sub, HistoryResult result, std::string_view failed,
                      std::vector<std::vector<std::shared_ptr<const Broadcast>>>& missed, bool malformed);
  void restore_remote(const auth::AuthChain& chain, std::shared_ptr<const auth::Credentials> credentials);
  void sign_in(const auth::AuthChain& chain, std::shared_ptr<const auth::Credentials> credentials);
  /// Restores `saved` when it was taken for this connection (true), else keeps it as a candidate.
  bool resume_from(std::optional<SavedSession> saved, bool taken);
  void send_broadcast(Subscription& sub, const Broadcast& b);
  void release(Subscription& sub);
  void release_overdue();
  void welcome();
  void remove(Subscription& sub);
  void signed_in(std::optional<auth::Identity> who, const std::string& why);
  void start();
  void handle(std::string_view payload);
  bool within_rate();  // takes a token from the command bucket

  CableServer& server_;
  LoopState& loop_;
  ws::Transport& conn_;
  std::optional<auth::Identity> user_;
  std::uint64_t id_;
  enum class Auth { kPending, kAccepted, kRefused };
  Auth auth_ = Auth::kPending;
  bool opened_ = false;
  bool welcomed_ = false;
  bool closed_ = false;
  std::vector<std::string> held_;  // commands received while signing in
  std::size_t held_bytes_ = 0;
  net::TokenBucket command_bucket_;  // --max-commands-per-second, a burst of twice that
  std::shared_ptr<bool> alive_;  // while an authenticator may still call back
  std::map<std::string, std::shared_ptr<Subscription>, std::less<>> subs_;
  // Extended protocol
  bool ext_ = false;
  bool holding_ = false;  // some restored subscription holds broadcasts back until its history request
  std::chrono::steady_clock::time_point hold_until_{};
  std::string sid_;
  std::string restore_sid_;
  std::string credentials_digest_;
  std::optional<SavedSession> restore_;    // the session this connection takes over
  std::optional<SavedSession> candidate_;  // one to take over if the sign-in names the same user
};

}  // namespace peercable::cable
