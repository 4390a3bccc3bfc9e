#include "app/config.hpp"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "app/erb_env.hpp"
#include "auth/http_hook.hpp"
#include "net/tls.hpp"
#include "net/trusted_proxies.hpp"

namespace peercable::app {
namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "peercable: error: %s\n", msg.c_str());
  std::exit(2);
}

std::string env_name(const std::string& opt) {
  std::string e = "PEERCABLE_";
  for (char c : opt) e += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return e;
}

// Turns the YAML file into "--key=value" arguments placed before the real ones, so the command line wins;
// a key whose PEERCABLE_ variable is set is skipped, so the environment wins over the file.
std::vector<std::string> config_args(const std::string& path, const std::string& env_section) {
  std::ifstream in(path);
  if (!in) die("--config: cannot read " + path + ": " + std::strerror(errno));
  std::stringstream raw;
  raw << in.rdbuf();
  // Rails evaluates cable.yml as ERB; the ENV lookups its generator writes are expanded the same way here.
  auto expanded = expand_env_erb(raw.str(), [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  });
  if (!expanded.text) die("--config: " + path + ": " + expanded.error);
  YAML::Node root;
  try {
    root = YAML::Load(*expanded.text);
  } catch (const std::exception& e) {
    die("--config: cannot read " + path + ": " + e.what());
  }
  if (!root.IsMap()) die("--config: " + path + " is not a YAML mapping");
  YAML::Node node = root;
  if (root[env_section] && root[env_section].IsMap()) node = root[env_section];  // cable.yml environments
  std::vector<std::string> args;
  // As Rails: adapter redis without a url means the local Redis; any other adapter ignores url.
  std::string adapter = "redis";
  if (node["adapter"]) {
    adapter = node["adapter"].as<std::string>();
    if (adapter != "redis" && adapter != "async" && adapter != "local" && adapter != "inline")
      die("--config: adapter must be redis or async, not " + adapter);
  }
  const bool explicit_redis = node["adapter"] && adapter == "redis";
  if (explicit_redis && !node["url"] && !std::getenv("PEERCABLE_REDIS_URL"))
    args.push_back("--redis-url=redis://localhost:6379");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (kv.second.IsMap()) continue;  // another environment's section
    if (!kv.second.IsScalar()) die("--config: " + key + " must be a single value");
    std::string value = kv.second.as<std::string>();
    if (key == "adapter") continue;
    if (key == "url" && adapter != "redis") continue;
    if (key == "url") key = "redis-url";
    for (char& c : key)
      if (c == '_') c = '-';
    if (std::getenv(env_name(key).c_str())) continue;
    args.push_back("--" + key + "=" + value);
  }
  return args;
}

// Both files or neither, both readable, and a chain and key that load and belong together. They are loaded
// here, before anything starts, so a bad pair is one line naming the option rather than a half-started server.
void check_tls(const Config& c) {
  if (c.tls_cert.empty() && c.tls_key.empty()) return;
  if (c.tls_key.empty()) die("--tls-cert: needs --tls-key (the certificate's private key)");
  if (c.tls_cert.empty()) die("--tls-key: needs --tls-cert (the certificate chain)");
  for (const auto& [option, path] : {std::pair{"--tls-cert", &c.tls_cert}, std::pair{"--tls-key", &c.tls_key}}) {
    std::error_code ec;
    if (std::filesystem::is_directory(*path, ec)) die(std::string(option) + ": " + *path + " is a folder, not a file");
    std::FILE* f = std::fopen(path->c_str(), "r");
    if (!f) die(std::string(option) + ": cannot read " + *path + ": " + std::strerror(errno));
    std::fclose(f);
  }
  try {
    net::TlsContext probe(c.tls_cert, c.tls_key);
  } catch (const net::TlsSetupError& e) {
    die(std::string(e.file() == net::TlsSetupError::File::kKey ? "--tls-key: " : "--tls-cert: ") + e.what());
  }
}

// The trusted proxies parse, and the PROXY protocol has someone to come from.
void check_proxies(const Config& c) {
  std::string error;
  if (!net::TrustedProxies::parse(c.trusted_proxies, error)) die("--trusted-proxies: " + error);
  if (c.proxy_protocol && split_list(c.trusted_proxies).empty())
    die("--proxy-protocol: needs --trusted-proxies (the load balancers allowed to send the header)");
}

// Reads --admin-key-file into admin_key and refuses a key short enough to guess.
void check_admin(Config& c) {
  if (!c.admin_key_file.empty()) {
    if (!c.admin_key.empty()) die("--admin-key-file: give either --admin-key or --admin-key-file, not both");
    std::ifstream in(c.admin_key_file);
    if (!in || !std::getline(in, c.admin_key)) die("--admin-key-file: cannot read " + c.admin_key_file);
    while (!c.admin_key.empty() && std::isspace(static_cast<unsigned char>(c.admin_key.back()))) c.admin_key.pop_back();
  }
  if (!c.admin_key.empty() && c.admin_key.size() < 16) die("--admin-key: use at least 16 characters");
  for (char ch : c.admin_key)
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f)
      die("--admin-key: spaces and control characters cannot be sent in an Authorization header");
}

// Every URL has an ICE scheme, and TURN comes with its secret: a page handed a TURN URL it cannot sign in
// to would only fail later, in the browser, with no word to the operator.
void check_ice(const Config& c) {
  for (const auto& url : split_list(c.stun_urls))
    if (url.rfind("stun:", 0) != 0 && url.rfind("stuns:", 0) != 0)
      die("--stun-urls: " + url + " must start with stun: or stuns:");
  const auto turn = split_list(c.turn_urls);
  for (const auto& url : turn)
    if (url.rfind("turn:", 0) != 0 && url.rfind("turns:", 0) != 0)
      die("--turn-urls: " + url + " must start with turn: or turns:");
  if (!turn.empty() && c.turn_secret.empty()) die("--turn-urls: needs --turn-secret (coturn's static-auth-secret)");
}

}  // namespace

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    auto item = list.substr(start, end - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.erase(0, 1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

Config parse_config(int argc, char** argv) {
  Config c;
  CLI::App app{"peercable: a fast Action Cable-compatible WebSocket server for peer-to-peer messaging"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.get_formatter()->column_width(34);
  auto add = [&](const char* name, auto& var, const char* help) {
    std::string n = name;
    return app.add_option("--" + n, var, help)->envname(env_name(n))->capture_default_str();
  };
  add("host", c.host, "address to listen on");
  add("port", c.port, "TCP port to listen on")->check(CLI::Range(1, 65535));
  add("threads", c.threads, "event loops (one thread each); 0 = one per core")->check(CLI::Range(0, 256));
  add("config", c.config_file, "YAML config file (cable.yml style: adapter, url, channel_prefix, any option)");
  add("env", c.env, "config file section to use (default: RAILS_ENV, else development)");
  add("log-level", c.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  add("cable-path", c.cable_path, "WebSocket endpoint path");
  add("web-root", c.web_root, "folder served at / (default: web/dist of the source tree)");
  add("data-dir", c.data_dir, "where the generated token secret and the history database are kept");
  add("jwt-secret", c.jwt_secret, "HS256 secret for sign-in tokens (default: generated, kept in --data-dir)");
  app.add_flag("--guests,!--no-guests", c.guests, "allow guest sign-in through POST /session (default: on)")
      ->envname("PEERCABLE_GUESTS");
  add("max-message", c.max_message, "largest incoming WebSocket message, bytes")
      ->check(CLI::Range(std::size_t{125}, std::size_t{1} << 30));
  add("max-backlog", c.max_backlog, "queued output per connection before it is dropped as a slow consumer, bytes")
      ->check(CLI::Range(std::size_t{4096}, std::size_t{1} << 31));
  add("message-limit", c.message_limit, "largest chat message body, bytes")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  add("history-size", c.history_size, "messages kept per room for new subscribers")
      ->check(CLI::Range(std::size_t{0}, std::size_t{10000}));
  add("history", c.history,
      "where room history is kept: sqlite (<data-dir>/history.sqlite3, or Redis with --redis-url) or memory")
      ->check(CLI::IsMember({"sqlite", "memory"}));
  add("ws-idle-timeout", c.ws_idle_timeout, "close WebSockets silent this long, seconds (0 = never)");
  add("header-timeout", c.header_timeout, "time allowed to send a request, seconds")->check(CLI::Range(1, 3600));
  app.add_flag("--deflate,!--no-deflate", c.deflate, "negotiate permessage-deflate when offered (default: on)")
      ->envname("PEERCABLE_DEFLATE");
  add("broadcast-key", c.broadcast_key, "bearer key for POST /broadcast (empty: the endpoint is off)");
  add("redis-url", c.redis_url, "redis://[user:password@]host:port/db to scale out (empty: in-process broker)");
  add("channel-prefix", c.channel_prefix, "prefix of Redis channel names, as Rails' channel_prefix");
  // Sign-in
  add("auth", c.auth, "authenticators in order: jwt, rails-cookie, http (default: jwt, then each configured)");
  add("jwt-previous-secret", c.jwt_previous_secret, "a second HS256 secret still accepted (key rotation)");
  add("jwt-leeway", c.jwt_leeway, "clock skew allowed on exp, nbf and iat, seconds")->check(CLI::Range(0, 3600));
  add("jwt-issuer", c.jwt_issuer, "required iss claim (empty: not checked)");
  add("jwt-audience", c.jwt_audience, "required aud claim (empty: not checked)");
  add("rails-secret-key-base", c.rails_secret_key_base, "the Rails app's secret_key_base (rails-cookie sign-in, Turbo Streams)");
  add("rails-cookie-name", c.rails_cookie_name, "the Rails session cookie's name, e.g. _myapp_session");
  add("rails-key-digest", c.rails_key_digest, "key derivation digest of the Rails app: sha256 (Rails 7+) or sha1")
      ->check(CLI::IsMember({"sha1", "sha256"}));
  add("rails-session-key", c.rails_session_key,
      "session key holding the user id, e.g. user_id or warden.user.user.key");
  add("rails-cookie-salt", c.rails_cookie_salt, "the app's authenticated_encrypted_cookie_salt");
  add("auth-url", c.auth_url, "http://host:port/path asked who the connecting user is (turns on http)");
  add("auth-headers", c.auth_headers, "request headers forwarded to --auth-url, comma separated");
  add("auth-timeout", c.auth_timeout, "how long --auth-url may take, milliseconds")->check(CLI::Range(1, 60000));
  add("auth-cache-ttl", c.auth_cache_ttl, "seconds an identity from --auth-url is reused")->check(CLI::Range(0, 86400));
  add("auth-negative-cache-ttl", c.auth_negative_cache_ttl, "seconds a refusal from --auth-url is reused")
      ->check(CLI::Range(0, 86400));
  // Signed streams
  add("turbo-stream-key", c.turbo_stream_key,
      "the app's config.turbo.signed_stream_verifier_key (default: derived from --rails-secret-key-base)");
  add("streams-secret", c.streams_secret, "key of $pubsub signed stream names (default: --rails-secret-key-base)");
  app.add_flag("--public-streams,!--no-public-streams", c.public_streams,
               "$pubsub also streams unsigned stream_name (default: off)")
      ->envname("PEERCABLE_PUBLIC_STREAMS");
  add("public-rooms", c.public_rooms,
      "P2P rooms anyone signed in may join, comma-separated patterns ('*' any run; empty: none); others are private");
  add("room-signing-key", c.room_signing_key,
      "key of signed room names opening private rooms (default: --streams-secret, else --rails-secret-key-base)");
  // Origins
  add("origin-check", c.origin_check, "check the Origin header: auto (on unless listening on loopback), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  add("allowed-origins", c.allowed_origins,
      "origins allowed besides the server's own, comma separated, e.g. https://chat.example.com");
  // Limits
  add("max-connections-per-ip", c.max_connections_per_ip, "open connections per client address (0 = no limit)");
  add("max-new-connections-per-ip", c.max_new_connections_per_ip,
      "new connections per second per client address (0 = no limit)");
  add("max-commands-per-second", c.max_commands_per_second,
      "Action Cable commands per second per connection (0 = no limit)");
  add("max-subscriptions", c.max_subscriptions, "subscriptions per connection (0 = no limit)");
  add("max-identifier", c.max_identifier, "largest subscription identifier, bytes")
      ->check(CLI::Range(std::size_t{16}, std::size_t{1} << 20));
  add("max-room-name", c.max_room_name, "longest room name, characters")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
  add("max-signal", c.max_signal, "largest WebRTC signal payload, bytes")
      ->check(CLI::Range(std::size_t{64}, std::size_t{1} << 24));
  add("max-guest-signins-per-ip", c.max_guest_signins_per_ip,
      "guest sign-ins (POST /session) per minute per client address (0 = no limit)");
  // Connections: compression, HTTP queue, dead peers
  add("deflate-window-bits", c.deflate_window_bits, "compressor window, 2^bits bytes (9-15)")->check(CLI::Range(9, 15));
  add("deflate-mem-level", c.deflate_mem_level, "compressor memory level (1-9)")->check(CLI::Range(1, 9));
  app.add_flag("--deflate-context-takeover,!--no-deflate-context-takeover", c.deflate_context_takeover,
               "keep compression context between messages, per connection (default: off, shared per loop)")
      ->envname("PEERCABLE_DEFLATE_CONTEXT_TAKEOVER");
  add("deflate-min-size", c.deflate_min_size, "shortest message sent compressed, bytes")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 30));
  add("max-http-queue", c.max_http_queue, "HTTP responses queued per connection before its input is left unread, bytes")
      ->check(CLI::Range(std::size_t{4096}, std::size_t{1} << 30));
  add("ws-ping-interval", c.ws_ping_interval, "ping a WebSocket silent this long, seconds (0 = never)")
      ->check(CLI::Range(0, 3600));
  add("ws-pong-timeout", c.ws_pong_timeout, "close a pinged WebSocket still silent this long after, seconds")
      ->check(CLI::Range(1, 3600));
  add("tcp-keepalive", c.tcp_keepalive, "TCP keepalive: idle seconds before probes, 3 probes 10 s apart (0 = off)")
      ->check(CLI::Range(0, 86400));
  add("tcp-user-timeout", c.tcp_user_timeout, "TCP_USER_TIMEOUT: seconds sent data may stay unacknowledged (0 = off)")
      ->check(CLI::Range(0, 86400));
  // Stores
  add("room-ttl", c.room_ttl, "seconds an empty room (its history included) is kept before it is forgotten")
      ->check(CLI::Range(1u, 10u * 365 * 86400));
  add("max-rooms", c.max_rooms, "rooms alive at once, empty ones not yet forgotten included (0 = no limit)");
  add("presence-window", c.presence_window, "join/leave changes of a room are sent once per this many ms")
      ->check(CLI::Range(1, 10000));
  add("presence-list-max", c.presence_list_max,
      "rooms with more people get counts instead of names; also the size of a member page")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  add("store-queue", c.store_queue, "store jobs waiting before history writes are dropped (counted)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  add("store-redis-url", c.store_redis_url, "Redis for history and presence (default: --redis-url)");
  // Extended protocol
  add("stream-history-limit", c.stream_history_limit,
      "extended protocol: broadcasts kept per stream for clients that missed them (0 = no stream history)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000000}));
  add("stream-history-ttl", c.stream_history_ttl, "extended protocol: seconds a kept broadcast stays")
      ->check(CLI::Range(1u, 7u * 86400));
  add("stream-history-streams", c.stream_history_streams,
      "extended protocol: streams whose history is kept at once; the longest idle is dropped first")
      ->check(CLI::Range(std::size_t{16}, std::size_t{10000000}));
  add("stream-linger", c.stream_linger,
      "extended protocol, Redis stream history: seconds a node stays subscribed to a stream after its last subscriber "
      "there left, so that Rails' broadcasts meanwhile are kept for that client's return (0 = unsubscribe at once)")
      ->check(CLI::Range(0u, 7u * 86400));
  add("stream-history-store", c.stream_history_store,
      "extended protocol: memory, sqlite (streams.sqlite3 in --data-dir: epochs and history survive a restart) or "
      "redis (--redis-url: the same epochs and offsets on every node, so a client resumes on any node; the "
      "default when --redis-url is given, else memory)")
      ->check(CLI::IsMember({"memory", "sqlite", "redis"}));
  add("session-ttl", c.session_ttl,
      "extended protocol: seconds a closed connection's session can be restored with its sid (0 = never); kept in "
      "Redis with --redis-url, so restorable on any node")
      ->check(CLI::Range(0u, 7u * 86400));
  add("max-saved-sessions", c.max_saved_sessions, "extended protocol: closed sessions kept at once; oldest go first")
      ->check(CLI::Range(std::size_t{0}, std::size_t{100000000}));
  // Deploys
  add("drain-window", c.drain_window,
      "on SIGTERM, seconds over which clients are told to reconnect, spread at random (0 = all at once)")
      ->check(CLI::Range(0, 600));
  // Live view
  add("admin-key", c.admin_key, "bearer key of the live view at /admin, 16+ characters (empty: /admin is off)");
  add("admin-key-file", c.admin_key_file, "file whose first line is the --admin-key (keeps it out of ps)");
  add("node-id", c.node_id, "this node's name in /admin (default: <hostname>:<port>)");
  // Behind load balancers
  add("trusted-proxies", c.trusted_proxies,
      "load balancers whose word on the client address is believed, comma separated addresses or CIDR blocks "
      "(empty: nobody)");
  add("forwarded-header", c.forwarded_header,
      "header the trusted proxies set: x-forwarded-for or forwarded (RFC 7239)")
      ->check(CLI::IsMember({"x-forwarded-for", "forwarded"}));
  app.add_flag("--proxy-protocol,!--no-proxy-protocol", c.proxy_protocol,
               "connections from --trusted-proxies start with a PROXY protocol v1/v2 header (default: off)")
      ->envname("PEERCABLE_PROXY_PROTOCOL");
  // TLS
  add("tls-cert", c.tls_cert, "PEM certificate chain: serve https:// and wss:// (needs --tls-key)");
  add("tls-key", c.tls_key, "PEM private key for --tls-cert");
  // ICE servers
  add("stun-urls", c.stun_urls, "STUN servers handed to the page, comma separated, e.g. stun:stun.example.com:3478");
  add("turn-urls", c.turn_urls,
      "TURN servers handed to signed-in pages with minted credentials, comma separated (needs --turn-secret)");
  add("turn-secret", c.turn_secret, "the TURN server's shared secret (coturn static-auth-secret, use-auth-secret)");
  add("turn-ttl", c.turn_ttl, "how long a minted TURN credential is valid, seconds")->check(CLI::Range(60, 7 * 86400));
  app.set_version_flag("--version", "peercable 0.1.0");

  // Find the config file first (it supplies defaults for everything else).
  std::string config_path;
  if (const char* e = std::getenv("PEERCABLE_CONFIG")) config_path = e;
  std::string env_section;
  if (const char* e = std::getenv("PEERCABLE_ENV")) env_section = e;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) config_path = argv[i + 1];
    if (a.rfind("--config=", 0) == 0) config_path = a.substr(9);
    if (a == "--env" && i + 1 < argc) env_section = argv[i + 1];
    if (a.rfind("--env=", 0) == 0) env_section = a.substr(6);
  }
  if (env_section.empty()) {
    const char* r = std::getenv("RAILS_ENV");
    env_section = r ? r : "development";
  }
  std::vector<std::string> args;
  if (!config_path.empty()) args = config_args(config_path, env_section);
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last-first
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (char& ch : what)
      if (ch == '\n') ch = ' ';
    die(what);
  }
  if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
  if (c.cable_path.empty() || c.cable_path[0] != '/') die("--cable-path: must start with /");
  if (!c.redis_url.empty() && c.redis_url.rfind("redis://", 0) != 0) die("--redis-url: must start with redis://");
  if (!c.store_redis_url.empty() && c.store_redis_url.rfind("redis://", 0) != 0)
    die("--store-redis-url: must start with redis://");
  if (c.stream_history_store.empty()) c.stream_history_store = c.redis_url.empty() ? "memory" : "redis";
  if (c.stream_history_store == "redis" && c.redis_url.empty()) die("--stream-history-store redis: needs --redis-url");
  check_tls(c);
  check_ice(c);
  check_admin(c);
  check_proxies(c);
  std::string hook_error;
  if (!c.auth_url.empty() && !auth::parse_hook_url(c.auth_url, hook_error)) die("--auth-url: " + hook_error);
  if (!c.auth_url.empty() && !auth::parse_hook_headers(c.auth_headers, hook_error))
    die("--auth-headers: " + hook_error);
  return c;
}

}  // namespace peercable::app
