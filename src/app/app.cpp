#include "app/app.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "app/admin.hpp"
#include "app/router.hpp"
#include "app/secret_file.hpp"
#include "auth/http_hook.hpp"
#include "auth/rails_cookie.hpp"
#include "auth/signed_stream.hpp"
#include "broker/redis_broker.hpp"
#include "cable/broadcast.hpp"
#include "channels/benchmark_channel.hpp"
#include "channels/p2p_channel.hpp"
#include "channels/signed_stream_channel.hpp"
#include "net/tls.hpp"
#include "store/redis_history.hpp"
#include "store/redis_presence.hpp"
#include "store/redis_resume.hpp"
#include "store/sqlite_history.hpp"

namespace peercable::app {

App::App(Config config)
    : config_(std::move(config)),
      origins_(config_.origin_check, config_.host, split_list(config_.allowed_origins)),
      started_(std::chrono::steady_clock::now()),
      files_(config_.web_root.empty() ? http::installed_web_root() : std::filesystem::path(config_.web_root)) {
  if (!config_.web_root.empty() && !files_.available())
    throw std::runtime_error("--web-root: " + config_.web_root + " is not a folder");
  token_secret_ = config_.jwt_secret.empty() ? load_or_create_secret(config_.data_dir) : config_.jwt_secret;
  build_auth();
  ip_limits_ = std::make_shared<net::IpLimits>(config_.max_connections_per_ip, config_.max_new_connections_per_ip);
  guest_limits_ = std::make_shared<net::IpLimits>(0, config_.max_guest_signins_per_ip, std::chrono::seconds(60));
  for (unsigned i = 0; i < config_.threads; ++i) loops_.push_back(std::make_unique<net::Loop>(static_cast<int>(i)));
  std::vector<net::Loop*> raw;
  for (auto& l : loops_) raw.push_back(l.get());
  cable_ = std::make_unique<cable::CableServer>(raw);
  const std::string& store_redis = config_.store_redis_url.empty() ? config_.redis_url : config_.store_redis_url;
  const bool redis_streams = config_.stream_history_store == "redis" && config_.stream_history_limit != 0;
  if (!config_.redis_url.empty())
    cable_->set_broker(broker::make_redis_broker(
        {config_.redis_url, config_.channel_prefix}, raw, *cable_,
        {redis_streams, config_.stream_history_limit, std::chrono::seconds(config_.stream_history_ttl),
         config_.stream_history_streams, std::chrono::seconds(config_.stream_linger)}));
  if (store_redis.empty()) {
    presence_ = std::make_unique<store::MemoryPresence>();
  } else {
    presence_ = store::make_redis_presence({store_redis, config_.channel_prefix});
  }
  const std::chrono::milliseconds room_ttl = std::chrono::seconds(config_.room_ttl);
  if (!store_redis.empty() && config_.history != "memory") {
    history_ = store::make_redis_history({store_redis, config_.channel_prefix}, config_.history_size, room_ttl);
  } else if (config_.history == "sqlite") {
    std::filesystem::create_directories(config_.data_dir);
    auto db = (std::filesystem::path(config_.data_dir) / "history.sqlite3").string();
    history_ = std::make_unique<store::SqliteHistory>(db, config_.history_size);
  } else {
    history_ = std::make_unique<store::MemoryHistory>(config_.history_size);
  }
  store_worker_ = std::make_unique<store::StoreWorker>(config_.store_queue);
  channels::P2POptions p2p;
  p2p.max_body_bytes = config_.message_limit;
  p2p.max_signal_bytes = config_.max_signal;
  p2p.max_room_name = config_.max_room_name;
  p2p.access.public_rooms = split_list(config_.public_rooms);
  p2p.access.signing_key = !config_.room_signing_key.empty() ? config_.room_signing_key
                           : !config_.streams_secret.empty() ? config_.streams_secret
                                                             : config_.rails_secret_key_base;
  p2p.max_rooms = config_.max_rooms;
  p2p.room_ttl = room_ttl;
  p2p.presence_window = std::chrono::milliseconds(config_.presence_window);
  p2p.presence_list_max = config_.presence_list_max;
  cable::SessionLimits session_limits;
  session_limits.commands_per_second = config_.max_commands_per_second;
  session_limits.subscriptions = config_.max_subscriptions;
  session_limits.identifier_bytes = config_.max_identifier;
  cable_->set_session_limits(session_limits);
  cable::StreamLogOptions stream_log;
  stream_log.limit = config_.stream_history_limit;
  stream_log.ttl = std::chrono::seconds(config_.stream_history_ttl);
  stream_log.max_streams = config_.stream_history_streams;
  cable_->set_resume_options(stream_log, std::chrono::seconds(config_.session_ttl), config_.max_saved_sessions);
  if (!config_.redis_url.empty()) {
    // Offsets, epochs and saved sessions in Redis: a client resumes on any node.
    auto resume = store::make_redis_resume({config_.redis_url, config_.channel_prefix}, *store_worker_, redis_streams,
                                           std::chrono::seconds(config_.stream_history_ttl));
    if (resume.history) cable_->set_remote_history(std::move(resume.history));
    cable_->sessions().set_remote(std::move(resume.sessions));
  }
  if (config_.stream_history_store == "sqlite" && cable_->stream_log()) {
    // Epochs and recent broadcasts outlive the process: read back now (no loop runs yet), written by the
    // store worker as they come.
    std::filesystem::create_directories(config_.data_dir);
    auto db = (std::filesystem::path(config_.data_dir) / "streams.sqlite3").string();
    stream_journal_ = std::make_unique<store::SqliteStreamJournal>(db, config_.stream_history_limit,
                                                                   static_cast<std::int64_t>(config_.stream_history_ttl));
    cable::StreamLog& log = *cable_->stream_log();
    std::size_t streams = 0;
    for (auto& js : stream_journal_->load()) {
      std::vector<cable::StreamLog::Kept> kept;
      kept.reserve(js.entries.size());
      for (auto& e : js.entries) kept.push_back({e.offset, e.at, std::move(e.payload)});
      log.restore(js.stream, js.epoch, js.head, std::move(kept));
      ++streams;
    }
    spdlog::info("stream history: {} streams read back from {}", streams, db);
    store::SqliteStreamJournal* journal = stream_journal_.get();
    store::StoreWorker* worker = store_worker_.get();
    log.set_journal([journal, worker](const cable::BroadcastPtr& b, std::int64_t at) {
      worker->try_post([journal, b, at] { journal->append(b->stream(), *b->epoch(), b->offset(), at, b->payload()); },
                       "stream history write");
    });
    worker->every(std::chrono::seconds(30), [journal] {
      journal->expire(
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    });
  }
  auto p2p_channel = std::make_unique<channels::P2PChannel>(p2p, *presence_, *history_, *store_worker_, *cable_);
  p2p_ = p2p_channel.get();
  cable_->add_channel(std::move(p2p_channel));
  store_worker_->start();
  cable_->add_channel(std::make_unique<channels::BenchmarkChannel>());
  add_signed_stream_channels();

  http::ConnectionSettings conn;
  conn.limits.max_message_bytes = config_.max_message;
  conn.limits.max_backlog_bytes = config_.max_backlog;
  conn.limits.ws_idle_timeout = std::chrono::seconds(config_.ws_idle_timeout);
  conn.limits.header_timeout = std::chrono::seconds(config_.header_timeout);
  conn.deflate.options.window_bits = static_cast<int>(config_.deflate_window_bits);
  conn.deflate.options.mem_level = static_cast<int>(config_.deflate_mem_level);
  conn.deflate.options.context_takeover = config_.deflate_context_takeover;
  conn.deflate.min_size = config_.deflate_min_size;
  conn.limits.max_http_queue_bytes = config_.max_http_queue;
  conn.limits.ws_ping_interval = std::chrono::seconds(config_.ws_ping_interval);
  conn.limits.ws_pong_timeout = std::chrono::seconds(config_.ws_pong_timeout);
  conn.limits.tcp_keepalive = std::chrono::seconds(config_.tcp_keepalive);
  conn.limits.tcp_user_timeout = std::chrono::seconds(config_.tcp_user_timeout);
  {
    std::string error;  // checked by parse_config
    auto trusted = net::TrustedProxies::parse(config_.trusted_proxies, error);
    if (!trusted) throw std::runtime_error("--trusted-proxies: " + error);
    trusted_proxies_ = std::make_shared<const net::TrustedProxies>(std::move(*trusted));
  }
  conn.proxies.trusted = trusted_proxies_;
  conn.proxies.forwarded_header = config_.forwarded_header == "forwarded" ? http::ForwardedHeader::kForwarded
                                                                          : http::ForwardedHeader::kXForwardedFor;
  conn.proxies.proxy_protocol = config_.proxy_protocol;
  conn.ip_limits = ip_limits_;
  admission_ = std::make_unique<http::Admission>(ip_limits_, trusted_proxies_, !config_.tls_cert.empty());
  if (!config_.tls_cert.empty())  // checked by parse_config; loaded once, shared by every loop
    conn.tls = std::make_shared<const net::TlsContext>(config_.tls_cert, config_.tls_key);
  loops_.front()->every(std::chrono::seconds(1), [this] {
    auto now = net::IpLimits::Clock::now();
    ip_limits_->sweep(now);
    guest_limits_->sweep(now);
  });
  for (auto& l : loops_) {
    auto& ls = cable_->loop_state(l->index());
    routers_.push_back(std::make_unique<AppRouter>(*this, ls));
    sets_.push_back(std::make_unique<http::ConnectionSet>(*l, *routers_.back(), conn));
    auto* set = sets_.back().get();
    listeners_.push_back(std::make_unique<net::Listener>(
        *l, config_.host, config_.port, [this, set](auto socket) { admission_->admit(*set, std::move(socket)); }));
    l->every(std::chrono::seconds(1), [set] { set->tick(); });
  }
  const char* history_kind = !store_redis.empty() && config_.history != "memory" ? "redis" : config_.history.c_str();
  admin_ = std::make_unique<Admin>(
      AdminSources{raw, cable_.get(), store_worker_.get(), &files_, config_.node_id, config_.port, history_kind,
                   config_.redis_url.empty() ? "local" : "redis", [this] { return draining(); }},
      config_.admin_key);
  admin_->attach();
}

App::~App() = default;

// Turbo::StreamsChannel and $pubsub, each when a key for its signatures is configured.
void App::add_signed_stream_channels() {
  std::string turbo_key = config_.turbo_stream_key;
  if (turbo_key.empty() && !config_.rails_secret_key_base.empty()) {
    auto digest = auth::parse_rails_key_digest(config_.rails_key_digest);
    if (!digest) throw std::runtime_error("--rails-key-digest: use sha1 or sha256");
    turbo_key = auth::derive_turbo_stream_key(config_.rails_secret_key_base, *digest);
  }
  if (!turbo_key.empty())
    cable_->add_channel(std::make_unique<channels::SignedStreamChannel>(
        channels::SignedStreamOptions{"Turbo::StreamsChannel", std::move(turbo_key), false, false}));
  std::string pubsub_key = config_.streams_secret.empty() ? config_.rails_secret_key_base : config_.streams_secret;
  if (!pubsub_key.empty() || config_.public_streams)
    cable_->add_channel(std::make_unique<channels::SignedStreamChannel>(
        channels::SignedStreamOptions{"$pubsub", std::move(pubsub_key), true, config_.public_streams}));
}

void App::build_auth() {
  jwt_.secret = token_secret_;
  jwt_.previous_secret = config_.jwt_previous_secret;
  jwt_.leeway = config_.jwt_leeway;
  jwt_.issuer = config_.jwt_issuer;
  jwt_.audience = config_.jwt_audience;
  std::vector<std::string> order = split_list(config_.auth);
  if (order.empty()) {
    order.emplace_back("jwt");
    // The app's secret alone may be given for Turbo Streams; the cookie's name turns cookie sign-in on.
    if (!config_.rails_secret_key_base.empty() && !config_.rails_cookie_name.empty()) order.emplace_back("rails-cookie");
    if (!config_.auth_url.empty()) order.emplace_back("http");
  }
  for (const auto& name : order) {
    if (name == "jwt") {
      auth_.add(std::make_unique<auth::JwtAuthenticator>(jwt_));
    } else if (name == "rails-cookie") {
      if (config_.rails_secret_key_base.empty())
        throw std::runtime_error(
            "--auth: rails-cookie needs --rails-secret-key-base (the Rails app's secret_key_base)");
      if (config_.rails_cookie_name.empty())
        throw std::runtime_error("--rails-cookie-name: required with rails-cookie sign-in (e.g. _myapp_session)");
      auth::RailsCookieOptions o;
      o.secret_key_base = config_.rails_secret_key_base;
      o.cookie_name = config_.rails_cookie_name;
      o.key_digest = config_.rails_key_digest;
      o.session_key = config_.rails_session_key;
      o.cookie_salt = config_.rails_cookie_salt;
      auth_.add(auth::make_rails_cookie_authenticator(o));
    } else if (name == "http") {
      if (config_.auth_url.empty()) throw std::runtime_error("--auth: http needs --auth-url");
      auth::HttpHookOptions o;
      o.url = config_.auth_url;
      o.headers = config_.auth_headers;
      o.timeout = std::chrono::milliseconds(config_.auth_timeout);
      o.cache_ttl = std::chrono::seconds(config_.auth_cache_ttl);
      o.negative_cache_ttl = std::chrono::seconds(config_.auth_negative_cache_ttl);
      auto hook = std::make_unique<auth::HttpHookAuthenticator>(o);
      hook_ = hook.get();
      auth_.add(std::move(hook));
    } else {
      throw std::runtime_error("--auth: unknown authenticator " + name + " (use jwt, rails-cookie or http)");
    }
  }
}

std::int64_t App::connection_count() const {
  std::int64_t n = 0;
  for (auto& l : loops_) n += l->counters().connections.load(std::memory_order_relaxed);
  return n;
}

std::int64_t App::websocket_count() const {
  std::int64_t n = 0;
  for (auto& l : loops_) n += l->counters().websockets.load(std::memory_order_relaxed);
  return n;
}

StatusFigures App::status_figures() const {
  StatusFigures f;
  f.draining = draining();
  f.uptime_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
  f.broker_state = cable_->broker().state();
  for (auto& l : loops_) f.add(l->counters());
  f.store_dropped = store_worker_->dropped();
  f.store_queue = store_worker_->depth();
  f.rooms = p2p_->live_rooms();
  f.rooms_refused = p2p_->rooms_refused();
  return f;
}

std::string App::health_json() const {
  return app::health_json(status_figures());
}

std::string App::metrics_text() const {
  std::vector<std::string> sections;
  if (hook_) sections.push_back(hook_->metrics_text());
  sections.push_back(admin_->metrics_text());
  return app::metrics_text(status_figures(), sections);
}

// SIGHUP: the TLS certificate and key are read again and used for connections accepted from now on; open
// connections keep theirs. A file that does not load leaves the current certificate in use.
void App::reload() {
  if (config_.tls_cert.empty()) {
    spdlog::info("SIGHUP: nothing to reload (no --tls-cert)");
    return;
  }
  std::shared_ptr<const net::TlsContext> fresh;
  try {
    fresh = std::make_shared<const net::TlsContext>(config_.tls_cert, config_.tls_key);
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: TLS certificate not reloaded, the current one stays in use: {}", e.what());
    return;
  }
  for (auto& set : sets_) set->loop().post([s = set.get(), fresh] { s->set_tls(fresh); });
  spdlog::info("SIGHUP: TLS certificate reloaded from {}", config_.tls_cert);
}

// A deploy's SIGTERM: load balancers see /health answer 503 and take the node out, new WebSockets are refused,
// and the clients are told to reconnect in random shares over the drain window, so the remaining nodes take
// them in gradually rather than all at once. Runs on the main thread; the loops keep serving meanwhile.
void App::drain() {
  draining_.store(true, std::memory_order_relaxed);
  const auto window = std::chrono::milliseconds(std::chrono::seconds(config_.drain_window));
  const std::size_t steps = std::max<std::size_t>(1, static_cast<std::size_t>(window.count() / 100));
  spdlog::info("SIGTERM: draining {} WebSockets over {} s (/health answers 503, new WebSockets are refused)",
               websocket_count(), config_.drain_window);
  std::uint64_t seed = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed);
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t step = 0; step < steps && websocket_count() > 0; ++step) {
    cable_->restart_share(step, steps, seed);
    std::this_thread::sleep_until(started + window * static_cast<long>(step + 1) / static_cast<long>(steps));
  }
}

int App::run() {
  // Signals are taken on a dedicated io_context so no loop is interrupted to handle them.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM, SIGHUP);
  std::signal(SIGPIPE, SIG_IGN);
  cable_->start();
  for (auto& l : listeners_) l->start();
  for (auto& l : loops_) l->start();
  const bool tls = !config_.tls_cert.empty();
  spdlog::info("peercable listening on {}://{}:{} (WebSocket {}://{}:{}{}, {} loops, broker {})",
               tls ? "https" : "http", config_.host, config_.port, tls ? "wss" : "ws", config_.host, config_.port,
               config_.cable_path, loops_.size(), cable_->broker().state());
  spdlog::info("sign-in: {}; origin check {}", auth_.names(), origins_.enabled() ? "on" : "off");
  int signo = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                                int s) {
    if (ec) return;
    if (s == SIGHUP) {
      reload();
      signals.async_wait(on_signal);
      return;
    }
    signo = s;
  };
  signals.async_wait(on_signal);
  signals_io.run();
  if (signo == SIGTERM && config_.drain_window > 0) drain();
  spdlog::info("signal {}: shutting down", signo);

  // Stop accepting, tell every client, close every WebSocket with 1001, then wait for the queues to drain.
  std::mutex m;
  std::condition_variable cv;
  std::size_t done = 0;
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    auto* listener = listeners_[i].get();
    auto* set = sets_[i].get();
    loops_[i]->post([&, listener, set] {
      listener->stop();
      set->shutdown();
      std::lock_guard lock(m);
      ++done;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(m);
    cv.wait_for(lock, std::chrono::seconds(2), [&] { return done == loops_.size(); });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (connection_count() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (auto& l : loops_) l->stop();
  for (auto& l : loops_) l->join();
  if (stream_journal_) {
    // A clean stop: the next run may trust the journal and keep every stream's epoch.
    store_worker_->post([journal = stream_journal_.get(), heads = cable_->stream_log()->heads()] { journal->close(heads); });
  }
  store_worker_->stop();  // history appends already queued are written
  spdlog::info("stopped");
  return 0;
}

}  // namespace peercable::app
