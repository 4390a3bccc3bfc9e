#pragma once
// Command line, environment (PEERCABLE_<NAME>) and YAML config file, in that order of precedence.
#include <cstddef>
#include <string>
#include <vector>

namespace peercable::app {

struct Config {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  unsigned threads = 0;  // 0: one loop per core
  std::string config_file;
  std::string log_level = "info";
  std::string cable_path = "/cable";
  std::string web_root;  // empty: <repo>/web/dist next to the binary, if present
  std::string data_dir = "peercable-data";
  std::string jwt_secret;
  bool guests = true;
  std::size_t max_message = 1 << 20;
  std::size_t max_backlog = 4 << 20;
  std::size_t message_limit = 4096;
  std::size_t history_size = 50;
  std::string history = "sqlite";  // or "memory"
  unsigned ws_idle_timeout = 0;
  unsigned header_timeout = 10;
  bool deflate = true;
  std::string broadcast_key;
  std::string redis_url;
  std::string channel_prefix;
  std::string env;  // the config-file section (Rails environment)

  // Sign-in (docs/security.md)
  std::string auth;  // comma list of jwt, rails-cookie, http, in order; empty: jwt, then each one configured
  std::string jwt_previous_secret;
  unsigned jwt_leeway = 30;
  std::string jwt_issuer;
  std::string jwt_audience;
  std::string rails_secret_key_base;
  std::string rails_cookie_name;
  std::string rails_key_digest = "sha256";
  std::string rails_session_key = "user_id";
  std::string rails_cookie_salt = "authenticated encrypted cookie";
  std::string auth_url;
  std::string auth_headers = "cookie,authorization";
  unsigned auth_timeout = 2000;  // milliseconds
  unsigned auth_cache_ttl = 30;
  unsigned auth_negative_cache_ttl = 5;

  // Signed streams (Turbo::StreamsChannel, $pubsub)
  std::string turbo_stream_key;  // config.turbo.signed_stream_verifier_key; empty: derived from rails_secret_key_base
  std::string streams_secret;    // key of $pubsub signed names; empty: rails_secret_key_base
  bool public_streams = false;   // $pubsub accepts unsigned stream_name
  std::string public_rooms = "*";  // P2P rooms open to everyone signed in (patterns); the rest are private
  std::string room_signing_key;    // key of signed room names; empty: streams_secret, else rails_secret_key_base

  // Origins
  std::string origin_check = "auto";  // auto: on unless listening on loopback
  std::string allowed_origins;        // comma list of origins, e.g. https://chat.example.com

  // Limits (0 = no limit)
  unsigned max_connections_per_ip = 1000;
  unsigned max_new_connections_per_ip = 100;  // per second
  unsigned max_commands_per_second = 100;     // per connection
  unsigned max_subscriptions = 100;           // per connection
  std::size_t max_identifier = 1024;          // bytes
  std::size_t max_room_name = 64;             // characters
  std::size_t max_signal = 64 * 1024;         // bytes of a WebRTC signal payload
  unsigned max_guest_signins_per_ip = 10;     // per minute

  // Connections: compression, HTTP queue, dead peers (docs/configuration.md)
  unsigned deflate_window_bits = 15;      // 9..15
  unsigned deflate_mem_level = 8;         // 1..9
  bool deflate_context_takeover = false;  // per-connection zlib state, made on first use
  std::size_t deflate_min_size = 128;     // bytes; shorter messages are sent uncompressed
  std::size_t max_http_queue = 1 << 20;   // bytes of responses queued per HTTP connection before reading pauses
  unsigned ws_ping_interval = 20;         // seconds of silence before a ping (0 = no pings)
  unsigned ws_pong_timeout = 15;          // seconds after the ping before a silent peer is closed
  unsigned tcp_keepalive = 30;            // seconds idle before keepalive probes (0 = off)
  unsigned tcp_user_timeout = 30;         // seconds sent data may stay unacknowledged (0 = system default)

  // Stores: rooms, presence, the store worker (docs/configuration.md, "Rooms and presence")
  unsigned room_ttl = 86400;            // seconds an empty room is kept (history included)
  std::size_t max_rooms = 10000;        // rooms alive at once (0 = no limit)
  unsigned presence_window = 150;       // milliseconds over which join/leave changes are coalesced
  std::size_t presence_list_max = 100;  // rooms larger than this get counts instead of names
  std::size_t store_queue = 10000;      // store jobs waiting before history writes are dropped
  std::string store_redis_url;          // Redis for history and presence (empty: --redis-url)

  // Extended protocol (actioncable-v1-ext-json): stream history, resumable sessions (docs/protocol.md)
  std::size_t stream_history_limit = 100;      // broadcasts kept per stream (0: no stream history)
  unsigned stream_history_ttl = 300;           // seconds one is kept
  std::size_t stream_history_streams = 10000;  // streams tracked at once
  unsigned stream_linger = 300;                // seconds a node (Redis history) follows a stream nobody here follows
  std::string stream_history_store;            // memory, sqlite (under data_dir) or redis; default: redis with
                                               // --redis-url, else memory
  unsigned session_ttl = 300;                  // seconds a closed session can be restored (0: never)
  std::size_t max_saved_sessions = 100000;     // closed sessions kept at once

  // Deploys
  unsigned drain_window = 5;  // seconds over which SIGTERM spreads the clients' reconnects (0: all at once)

  // The live view at /admin (docs/operations.md); no key: /admin is off
  std::string admin_key;
  std::string admin_key_file;  // the key's first line is read from this file (keeps it off the command line)
  std::string node_id;         // this node's name in /admin; empty: <hostname>:<port>

  // Behind load balancers (docs/configuration.md, "Behind a proxy")
  std::string trusted_proxies;                     // comma list of addresses/CIDR blocks; empty: trust nobody
  std::string forwarded_header = "x-forwarded-for";  // which header trusted proxies set: x-forwarded-for, forwarded
  bool proxy_protocol = false;                     // trusted peers start with a PROXY protocol v1/v2 header

  // TLS
  std::string tls_cert;
  std::string tls_key;

  // ICE servers for the page's WebRTC connections (docs/p2p.md); none: host candidates only
  std::string stun_urls;      // comma list of stun: / stuns: URLs
  std::string turn_urls;      // comma list of turn: / turns: URLs, with credentials minted from turn_secret
  std::string turn_secret;    // coturn's static-auth-secret (use-auth-secret)
  unsigned turn_ttl = 86400;  // seconds a minted TURN credential stays valid
};

/// The comma-separated items of `list`, trimmed, empty ones dropped.
std::vector<std::string> split_list(const std::string& list);

/// Parses argv (and the environment and config file). On --help prints and exits 0; on a bad value prints
/// one line naming the option and exits 2.
Config parse_config(int argc, char** argv);

}  // namespace peercable::app
