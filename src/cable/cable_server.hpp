#pragma once
// The Action Cable server: channels, per-loop hubs and ping lists, and the broker that joins nodes.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.hpp"
#include "cable/delivery_stats.hpp"
#include "cable/hub.hpp"
#include "cable/session_store.hpp"
#include "cable/stream_log.hpp"
#include "net/loop.hpp"

namespace peercable::cable {

class Channel;
class CableSession;

/// What one connection may do (0 = no limit).
struct SessionLimits {
  unsigned commands_per_second = 100;  // bursts up to twice this
  unsigned subscriptions = 100;
  std::size_t identifier_bytes = 1024;
};

/// What one loop owns of the cable layer.
struct LoopState {
  LoopState(net::Loop& l, broker::Broker& b) : loop(l), hub(l.index(), b), stats(l) { hub.set_stats(&stats); }
  net::Loop& loop;
  StreamHub hub;
  DeliveryStats stats;  // for the live view and /metrics
  /// Welcomed sessions, in ping groups: group k is pinged at tick k of every 3-second cycle, so a loop with
  /// many connections never sends all its pings in one burst that would delay a broadcast behind it.
  static constexpr std::size_t kPingGroups = 30;
  std::vector<CableSession*> ping_groups[kPingGroups];
  std::size_t ping_tick = 0;
};

class CableServer final : public broker::Sink {
 public:
  explicit CableServer(std::vector<net::Loop*> loops);
  ~CableServer() override;

  /// Replaces the in-process broker (before start).
  void set_broker(std::unique_ptr<broker::Broker> b);
  broker::Broker& broker() { return *broker_; }
  void add_channel(std::unique_ptr<Channel> c);
  void set_session_limits(const SessionLimits& l) { limits_ = l; }
  /// Extended protocol: keeps recent broadcasts per stream (limit 0: none) and closed sessions for `session_ttl`
  /// (before start).
  void set_resume_options(const StreamLogOptions& log, std::chrono::seconds session_ttl, std::size_t max_sessions);
  StreamLog* stream_log() noexcept { return log_.get(); }
  /// Keeps stream history outside the node (Redis) instead of the node's log; before start.
  void set_remote_history(std::unique_ptr<RemoteStreamHistory> h) {
    log_.reset();
    remote_history_ = std::move(h);
  }
  RemoteStreamHistory* remote_history() noexcept { return remote_history_.get(); }
  SessionStore& sessions() noexcept { return *sessions_; }
  /// Relays a whisper (`payload_json`) to `stream`'s subscribers but session `from`'s, on this node and (through
  /// the broker) the others; never kept.
  void whisper(const std::string& stream, std::string payload_json, std::uint64_t from);
  void deliver_whisper(const std::string& stream, std::string payload) override;
  const SessionLimits& session_limits() const noexcept { return limits_; }
  Channel* find_channel(std::string_view name) const;
  LoopState& loop_state(int index) { return *loops_[static_cast<std::size_t>(index)]; }

  /// Starts the 3-second ping timer on every loop.
  void start();
  /// Publishes on `stream` through the broker (never on the internal stream).
  void broadcast(const std::string& stream, std::string payload_json) {
    if (is_internal(stream)) return;
    broker_->publish(stream, std::move(payload_json));
  }
  /// Reserves `stream` for the server itself (before start): what arrives on it goes to `sink` (on any thread),
  /// never to subscribers; a client subscribing to it is confirmed and gets nothing, and broadcast() drops
  /// what is sent to it. Whoever owns it subscribes through broker() and publishes with its publish_internal().
  void set_internal_stream(std::string stream, std::function<void(std::string)> sink);
  bool is_internal(const std::string& stream) const noexcept override {
    return !internal_stream_.empty() && stream == internal_stream_;
  }

  /// Drain step `step` of `steps`: every loop tells its share of the welcomed sessions (those whose id, mixed
  /// with `seed`, falls in this step) to reconnect elsewhere (server_restart) and closes them with 1001.
  void restart_share(std::size_t step, std::size_t steps, std::uint64_t seed);

  // broker::Sink
  void deliver(const std::string& stream, std::string payload) override;
  void deliver_at(const std::string& stream, std::string payload, const std::shared_ptr<const std::string>& epoch,
                  std::uint64_t offset) override;
  void disconnect_remote(const std::string& identifier) override;

  void register_session(LoopState& ls, CableSession* s);
  void unregister_session(LoopState& ls, CableSession* s);
  std::uint64_t next_session_id() { return session_ids_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void relay_whisper(const std::string& stream, std::string payload_json, std::uint64_t from);

  std::vector<std::unique_ptr<LoopState>> loops_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<broker::Broker> proxy_;  // what the hubs hold; forwards to broker_ (but the internal stream)
  std::string internal_stream_;
  std::function<void(std::string)> internal_sink_;
  std::map<std::string, std::unique_ptr<Channel>, std::less<>> channels_;
  std::atomic<std::uint64_t> session_ids_{1};
  SessionLimits limits_;
  std::unique_ptr<StreamLog> log_;
  std::unique_ptr<RemoteStreamHistory> remote_history_;
  std::unique_ptr<SessionStore> sessions_;
};

}  // namespace peercable::cable
