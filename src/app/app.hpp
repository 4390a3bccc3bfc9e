#pragma once
// Wires the server together: loops, listeners, the cable server, stores, HTTP routes.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/origin_policy.hpp"
#include "app/status_text.hpp"
#include "auth/authenticator.hpp"
#include "cable/cable_server.hpp"
#include "http/admission.hpp"
#include "http/connection.hpp"
#include "http/static_files.hpp"
#include "net/ip_limits.hpp"
#include "net/listener.hpp"
#include "net/loop.hpp"
#include "net/trusted_proxies.hpp"
#include "store/history.hpp"
#include "store/presence.hpp"
#include "store/sqlite_stream_journal.hpp"
#include "store/store_worker.hpp"

namespace peercable::auth {
class HttpHookAuthenticator;
}
namespace peercable::channels {
class P2PChannel;
}

namespace peercable::app {

class Admin;

class App {
 public:
  explicit App(Config config);
  ~App();
  /// Runs until SIGINT/SIGTERM; returns the process exit code.
  int run();

  const Config& config() const noexcept { return config_; }
  cable::CableServer& cable() { return *cable_; }
  const http::StaticFiles& files() const { return files_; }
  const auth::JwtOptions& jwt() const noexcept { return jwt_; }
  const auth::AuthChain& auth() const noexcept { return auth_; }
  /// Guest sign-ins per client address.
  net::IpLimits& guest_limits() { return *guest_limits_; }
  /// Whether a WebSocket may be opened from `origin` (the Origin header) on `host` (the Host header).
  bool origin_allowed(std::string_view origin, std::string_view host) const { return origins_.allows(origin, host); }
  std::string health_json() const;
  /// True from SIGTERM on: /health answers 503 and new WebSockets are refused while clients move away.
  bool draining() const noexcept { return draining_.load(std::memory_order_relaxed); }
  std::string metrics_text() const;
  /// The live view at /admin and the delivery figures of /metrics.
  const Admin& admin() const noexcept { return *admin_; }

 private:
  void build_auth();
  void add_signed_stream_channels();
  std::int64_t connection_count() const;
  std::int64_t websocket_count() const;
  StatusFigures status_figures() const;
  void drain();
  void reload();

  Config config_;
  std::string token_secret_;
  auth::JwtOptions jwt_;
  auth::AuthChain auth_;
  const auth::HttpHookAuthenticator* hook_ = nullptr;  // for /metrics, when configured
  OriginPolicy origins_;
  std::shared_ptr<net::IpLimits> ip_limits_;
  std::shared_ptr<net::IpLimits> guest_limits_;
  std::shared_ptr<const net::TrustedProxies> trusted_proxies_;  // load balancers believed about the client
  std::unique_ptr<http::Admission> admission_;
  std::chrono::steady_clock::time_point started_;
  http::StaticFiles files_;
  std::vector<std::unique_ptr<net::Loop>> loops_;
  std::unique_ptr<store::PresenceStore> presence_;
  std::unique_ptr<store::HistoryStore> history_;
  std::unique_ptr<cable::CableServer> cable_;
  std::unique_ptr<store::SqliteStreamJournal> stream_journal_;  // --stream-history-store sqlite
  // After cable_ and the stores: destroyed first, its last jobs still reach both.
  std::unique_ptr<store::StoreWorker> store_worker_;
  const channels::P2PChannel* p2p_ = nullptr;  // for /metrics
  std::vector<std::unique_ptr<http::Router>> routers_;
  std::vector<std::unique_ptr<http::ConnectionSet>> sets_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::atomic<bool> draining_{false};
  std::unique_ptr<Admin> admin_;  // after the loops, the cable server and the stores it reads
};

}  // namespace peercable::app
