#include "app/app.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <functional>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <algorithm>

#include "app/admin.hpp"
#include "app/router.hpp"
#include "auth/http_hook.hpp"
#include "auth/rails_cookie.hpp"
#include "broker/redis_broker.hpp"
#include "channels/benchmark_channel.hpp"
#include "channels/p2p_channel.hpp"
#include "channels/signed_stream_channel.hpp"
#include "auth/signed_stream.hpp"
#include "cable/broadcast.hpp"
#include "json/writer.hpp"
#include "net/tls.hpp"
#include "store/redis_history.hpp"
#include "store/redis_presence.hpp"
#include "store/sqlite_history.hpp"

namespace peercable::app {
namespace {

// The web client: installed next to the binary (<prefix>/bin/peercable → <prefix>/share/peercable/web), or the
// build output of the source tree (build/peercable → web/dist).
std::filesystem::path default_web_root() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  if (auto installed = exe.parent_path().parent_path() / "share" / "peercable" / "web";
      std::filesystem::is_regular_file(installed / "index.html", ec))
    return installed;
  for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    auto candidate = dir / "web" / "dist";
    if (std::filesystem::is_directory(candidate, ec)) return candidate;
  }
  return {};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

// Answers a connection refused at accept with `status` and closes it. The request is read first (whatever
// has arrived), so the close is not a reset that would discard the answer before the client reads it.
void refuse(boost::asio::ip::tcp::socket& socket, unsigned status, std::string_view message) {
  http::Response r;
  r.status = status;
  r.body = http::json_error(message);
  r.headers.emplace_back("Retry-After", "1");
  r.close = true;
  std::string wire = http::serialize_response(r, false);
  const int fd = socket.native_handle();
  [[maybe_unused]] auto sent = ::send(fd, wire.data(), wire.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  char scratch[4096];
  for (int i = 0; i < 16 && ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; ++i) {
  }
  boost::system::error_code ec;
  socket.close(ec);
}

}  // namespace

App::App(Config config)
    : config_(std::move(config)),
      started_(std::chrono::steady_clock::now()),
      files_(config_.web_root.empty() ? default_web_root() : std::filesystem::path(config_.web_root)) {
  if (!config_.web_root.empty() && !files_.available())
    throw std::runtime_error("--web-root: " + config_.web_root + " is not a folder");
  load_secret();
  build_auth();
  check_origin_ = config_.origin_check == "on" || (config_.origin_check == "auto" && !is_loopback(config_.host));
  for (auto& o : split_list(config_.allowed_origins)) allowed_origins_.push_back(lower(o));
  ip_limits_ = std::make_shared<net::IpLimits>(config_.max_connections_per_ip, config_.max_new_connections_per_ip);
  guest_limits_ = std::make_shared<net::IpLimits>(0, config_.max_guest_signins_per_ip, std::chrono::seconds(60));
  for (unsigned i = 0; i < config_.threads; ++i) loops_.push_back(std::make_unique<net::Loop>(static_cast<int>(i)));
  std::vector<net::Loop*> raw;
  for (auto& l : loops_) raw.push_back(l.get());
  cable_ = std::make_unique<cable::CableServer>(raw);
  const std::string& store_redis = config_.store_redis_url.empty() ? config_.redis_url : config_.store_redis_url;
  if (!config_.redis_url.empty())
    cable_->set_broker(broker::make_redis_broker({config_.redis_url, config_.channel_prefix}, raw, *cable_));
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
        *l, config_.host, config_.port, [this, set](auto socket) { accept(*set, std::move(socket)); }));
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

bool App::origin_allowed(std::string_view origin, std::string_view host) const {
  if (!check_origin_) return true;
  if (origin.empty()) return false;  // as Rails: a browser always sends Origin; without one, refused
  std::string o = lower(origin);
  // The server's own origin (Rails' allow_same_origin_as_host), over either scheme: behind a proxy that ends
  // TLS the scheme seen here is not the browser's.
  std::string h = lower(host);
  if (!h.empty() && (o == "http://" + h || o == "https://" + h)) return true;
  for (const auto& allowed : allowed_origins_) {
    if (allowed == "*" || allowed == o) return true;
    // "https://*.example.com" allows every subdomain.
    auto star = allowed.find("://*.");
    if (star != std::string::npos && o.compare(0, star + 3, allowed, 0, star + 3) == 0) {
      std::string_view suffix = std::string_view(allowed).substr(star + 4);  // ".example.com"
      if (o.size() > star + 3 + suffix.size() && std::string_view(o).ends_with(suffix) &&
          o.find('/', star + 3) == std::string::npos)
        return true;
    }
  }
  return false;
}

void App::accept(http::ConnectionSet& set, boost::asio::ip::tcp::socket socket) {
  std::unique_ptr<net::IpLimits::Lease> lease;
  if (ip_limits_->enabled()) {
    boost::system::error_code ec;
    auto peer = socket.remote_endpoint(ec);
    if (ec) return;  // gone already
    // A trusted proxy's connection is admitted once its client is known (PROXY header, forwarding header).
    if (trusted_proxies_->contains(peer.address())) return set.adopt(std::move(socket));
    auto admission = ip_limits_->admit(peer.address(), net::IpLimits::Clock::now());
    if (!admission.lease) {
      net::count_refusal(admission.refused);
      spdlog::debug("refused a connection from {}: {}", peer.address().to_string(), net::limit_name(admission.refused));
      if (!config_.tls_cert.empty()) {  // no HTTP can be spoken before a handshake: the refusal is a close
        boost::system::error_code ignored;
        socket.close(ignored);
        return;
      }
      refuse(socket, 429,
             admission.refused == net::Limit::kConnectionsPerIp
                 ? "too many connections from your address"
                 : "connecting too often from your address; retry later");
      return;
    }
    lease = std::move(admission.lease);
  }
  set.adopt(std::move(socket), std::move(lease));
}

void App::load_secret() {
  if (!config_.jwt_secret.empty()) {
    token_secret_ = config_.jwt_secret;
    return;
  }
  namespace fs = std::filesystem;
  fs::path dir(config_.data_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("--data-dir: cannot create " + dir.string() + ": " + ec.message());
  auto file = dir / "jwt_secret";
  std::ifstream in(file);
  if (in && std::getline(in, token_secret_) && token_secret_.size() >= 32) return;
  unsigned char raw[32];
  RAND_bytes(raw, sizeof raw);
  static constexpr char kHex[] = "0123456789abcdef";
  token_secret_.clear();
  for (unsigned char c : raw) {
    token_secret_ += kHex[c >> 4];
    token_secret_ += kHex[c & 15];
  }
  auto old_mask = ::umask(077);
  std::ofstream out(file, std::ios::trunc);
  out << token_secret_ << "\n";
  ::umask(old_mask);
  if (!out) throw std::runtime_error("--data-dir: cannot write " + file.string());
  spdlog::info("generated a token secret in {}", file.string());
}

double App::uptime_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
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

std::string App::health_json() const {
  const std::int64_t ws = websocket_count();
  std::uint64_t slow = 0;
  for (auto& l : loops_) slow += l->counters().slow_consumer_closes.load(std::memory_order_relaxed);
  std::string out;
  json::ObjectWriter w(out);
  w.key("status").str(draining() ? "draining" : "ok").key("version").str("0.1.0");
  w.key("uptime_s").num(static_cast<std::int64_t>(uptime_seconds()));
  w.key("connections").num(connection_count()).key("websockets").num(ws);
  w.key("loops").num(static_cast<std::int64_t>(loops_.size()));
  w.key("broker").str(cable_->broker().state());
  w.key("slow_consumer_closes").num(static_cast<std::int64_t>(slow));
  w.end();
  return out;
}

std::string App::metrics_text() const {
  std::uint64_t accepted = 0, slow = 0, proto = 0, frames = 0, ping_timeouts = 0;
  std::int64_t ws = 0;
  for (auto& l : loops_) {
    auto& c = l->counters();
    accepted += c.accepted.load();
    slow += c.slow_consumer_closes.load();
    proto += c.protocol_errors.load();
    frames += c.frames_out.load();
    ping_timeouts += c.ping_timeouts.load();
    ws += c.websockets.load();
  }
  std::string out;
  out += "# TYPE peercable_connections gauge\npeercable_connections " + std::to_string(connection_count()) + "\n";
  out += "# TYPE peercable_websockets gauge\npeercable_websockets " + std::to_string(ws) + "\n";
  out += "# TYPE peercable_accepted_total counter\npeercable_accepted_total " + std::to_string(accepted) + "\n";
  out += "# TYPE peercable_slow_consumer_closes_total counter\npeercable_slow_consumer_closes_total " +
         std::to_string(slow) + "\n";
  out +=
      "# TYPE peercable_protocol_errors_total counter\npeercable_protocol_errors_total " + std::to_string(proto) + "\n";
  out += "# TYPE peercable_frames_sent_total counter\npeercable_frames_sent_total " + std::to_string(frames) + "\n";
  out += "# TYPE peercable_ping_timeouts_total counter\npeercable_ping_timeouts_total " + std::to_string(ping_timeouts) +
         "\n";
  std::uint64_t unauthorized = 0;
  for (auto& l : loops_) unauthorized += l->counters().unauthorized.load();
  out += "# TYPE peercable_unauthorized_total counter\npeercable_unauthorized_total " + std::to_string(unauthorized) +
         "\n";
  if (hook_) out += hook_->metrics_text();
  out += admin_->metrics_text();
  out += "# TYPE peercable_store_dropped_total counter\npeercable_store_dropped_total " +
         std::to_string(store_worker_->dropped()) + "\n";
  out += "# TYPE peercable_store_queue gauge\npeercable_store_queue " + std::to_string(store_worker_->depth()) + "\n";
  out += "# TYPE peercable_rooms gauge\npeercable_rooms " + std::to_string(p2p_->live_rooms()) + "\n";
  out += "# TYPE peercable_rooms_refused_total counter\npeercable_rooms_refused_total " +
         std::to_string(p2p_->rooms_refused()) + "\n";
  out += "# TYPE peercable_limit_refusals_total counter\n";
  for (std::size_t i = 0; i < static_cast<std::size_t>(net::Limit::kCount); ++i) {
    std::uint64_t n = 0;
    for (auto& l : loops_) n += l->counters().refusals[i].load();
    out += "peercable_limit_refusals_total{limit=\"";
    out += net::limit_name(static_cast<net::Limit>(i));
    out += "\"} " + std::to_string(n) + "\n";
  }
  return out;
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
  spdlog::info("sign-in: {}; origin check {}", auth_.names(), check_origin_ ? "on" : "off");
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
