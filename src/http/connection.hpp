#pragma once
// One client socket: HTTP/1.1 requests until an upgrade, then WebSocket frames; output is a bounded
// queue of shared frames written with one sendmsg per loop turn.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/forwarded.hpp"
#include "http/output_queue.hpp"
#include "net/ip_limits.hpp"
#include "net/loop.hpp"
#include "net/tls.hpp"
#include "net/trusted_proxies.hpp"
#include "ws/frame_encoder.hpp"
#include "ws/frame_parser.hpp"
#include "ws/handshake.hpp"
#include "ws/shared_deflate.hpp"
#include "ws/transport.hpp"

namespace peercable::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Clock = std::chrono::steady_clock;

/// Limits and timeouts that apply to every connection.
struct ConnectionLimits {
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // first byte of a request to its end (slowloris)
  std::chrono::milliseconds keepalive_timeout{30'000};
  std::chrono::milliseconds ws_idle_timeout{0};    // 0: off (Action Cable clients are silent when idle)
  std::chrono::milliseconds close_timeout{2'000};  // our close frame sent, waiting for the peer's
  std::size_t max_message_bytes = 1 << 20;
  std::size_t max_backlog_bytes = 4 << 20;  // queued output before a slow consumer is dropped
  // Responses queued on one HTTP connection before its input is left unread (a client that pipelines
  // requests and never reads the answers); reading resumes once half of it has drained.
  std::size_t max_http_queue_bytes = 1 << 20;
  // Dead peers: a WebSocket silent for ws_ping_interval gets a ping; still silent ws_pong_timeout later, it
  // is closed. 0: no pings. Whole seconds (the loop's tick).
  std::chrono::seconds ws_ping_interval{20};
  std::chrono::seconds ws_pong_timeout{15};
  // TCP keepalive idle time (then 3 probes, 10 s apart) and TCP_USER_TIMEOUT on accepted sockets; 0: off.
  std::chrono::seconds tcp_keepalive{30};
  std::chrono::seconds tcp_user_timeout{30};
};

/// How outgoing WebSocket messages are compressed once permessage-deflate is agreed.
struct DeflateSettings {
  ws::DeflateOptions options;  // window, memory level, context takeover
  std::size_t min_size = 128;  // shorter messages go out uncompressed
};

/// Behind load balancers: a connection from a trusted proxy is admitted to the per-address limits once its
/// client is known (its PROXY header, or each request's forwarding header); others were admitted at accept.
struct ProxySettings {
  std::shared_ptr<const net::TrustedProxies> trusted;  // null or empty: nobody is believed
  ForwardedHeader forwarded_header = ForwardedHeader::kXForwardedFor;
  bool proxy_protocol = false;  // trusted peers start with a PROXY protocol header, required
};

/// Everything a loop's connections are configured with.
struct ConnectionSettings {
  ConnectionLimits limits;
  DeflateSettings deflate;
  ProxySettings proxies;
  std::shared_ptr<const net::TlsContext> tls;  // set: every connection speaks TLS first (https, wss)
  std::shared_ptr<net::IpLimits> ip_limits;    // null: no per-address limits
};

class Connection;

/// The application side of one WebSocket (an Action Cable session, for instance).
class WsSession {
 public:
  virtual ~WsSession() = default;
  virtual void on_open() = 0;
  virtual void on_message(ws::Opcode op, std::string_view payload) = 0;
  /// The WebSocket is over (closed by either side or failed); called once, before destruction.
  virtual void on_closed() = 0;
  /// The server is shutting down; the connection is closed with 1001 right after.
  virtual void on_shutdown() {}
};

/// An HTTP response built by a route.
struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;
};

/// What a route decides: a response, or an accepted upgrade with the session that takes the socket.
struct RouteResult {
  Response response;
  std::optional<ws::HandshakeAccept> upgrade;
  std::unique_ptr<WsSession> session;
};

/// Routes requests; one per loop. Called on the loop's thread.
class Router {
 public:
  virtual ~Router() = default;
  virtual RouteResult route(Connection& conn, Request& req) = 0;
};

/// Per-loop state shared by the loop's connections: settings, router, the live-connection list.
class ConnectionSet {
 public:
  ConnectionSet(net::Loop& loop, Router& router, const ConnectionSettings& settings);
  net::Loop& loop() noexcept { return loop_; }
  Router& router() noexcept { return router_; }
  const ConnectionSettings& settings() const noexcept { return settings_; }
  const ConnectionLimits& limits() const noexcept { return settings_.limits; }
  /// Connections accepted from now on use `tls` (a reloaded certificate); open ones keep their own.
  void set_tls(std::shared_ptr<const net::TlsContext> tls) { settings_.tls = std::move(tls); }
  /// The loop's compression state, shared by its connections without context takeover.
  ws::SharedDeflate& deflate() noexcept { return deflate_; }

  /// Takes ownership of an accepted socket and of what it holds while open (its per-address slot).
  void adopt(asio::ip::tcp::socket socket, std::unique_ptr<net::IpLimits::Lease> lease = nullptr);
  /// Enforces deadlines; run once a second.
  void tick();
  /// Tells every WebSocket session, closes every connection (WebSockets with 1001).
  void shutdown();
  std::size_t size() const noexcept { return conns_.size(); }

 private:
  friend class Connection;
  void add(Connection* c);
  void remove(Connection* c);

  net::Loop& loop_;
  Router& router_;
  ConnectionSettings settings_;
  ws::SharedDeflate deflate_;
  ws::SharedFrame ping_frame_;  // one empty ping frame shared by every connection pinged
  std::vector<Connection*> conns_;
};

// Flushable first: the loop's flush pass, once per connection written, calls it without adjusting `this`.
class Connection final : public net::Flushable,
                         public ws::Transport,
                         public ws::FrameHandler,
                         public std::enable_shared_from_this<Connection> {
 public:
  Connection(ConnectionSet& set, asio::ip::tcp::socket socket);
  ~Connection() override;

  void start();

  // ws::Transport
  void send_text(std::string_view payload) override;
  void send_frame(const ws::SharedFrame& frame) override;
  void close(std::uint16_t code, std::string_view reason = {}) override;
  /// The client's address as text, for logs and per-address limits: the TCP peer, or the client a trusted
  /// proxy named (PROXY header, X-Forwarded-For / Forwarded of the current request).
  std::string remote_address() const override;
  ws::SharedDeflate& loop_deflate() noexcept override { return set_.deflate(); }

  void flush() override;

 private:
  friend class ConnectionSet;
  enum class State { kHttp, kWebSocket, kClosing, kDraining, kClosed };

  void do_read();
  void on_readable();
  void on_bytes(std::uint8_t* data, std::size_t n);
  void on_tls_bytes(const std::uint8_t* data, std::size_t n, std::uint8_t* plain, std::size_t cap);
  void fail_tls();
  void on_http_bytes();
  void handle_request(Request& req, bool keep_alive);
  void send_response(const Response& r, bool keep_alive);
  void send_error(unsigned status, std::string_view message);
  void enqueue(ws::SharedFrame f);
  void schedule_flush();
  void wait_writable();
  void leave_websocket();
  void begin_drain();
  void finish();
  void on_tick(Clock::time_point now);
  bool check_ping();
  void resume_input();
  void set_socket_options();
  std::size_t on_proxy_bytes(const std::uint8_t* data, std::size_t n);
  bool identify_client(const Request& req);
  bool admit_client();
  void refuse_client();

  // ws::FrameHandler
  void on_message(ws::Opcode op, std::string_view payload) override;
  void on_ping(std::string_view payload) override;
  void on_pong(std::string_view payload) override;
  void on_close(std::uint16_t code, std::string_view reason) override;
  void on_protocol_error(std::uint16_t code, std::string_view why) override;

  ConnectionSet& set_;
  asio::ip::tcp::socket socket_;
  std::unique_ptr<net::TlsSession> tls_;  // only on a TLS listener; the plain path never touches it
  State state_ = State::kHttp;
  std::size_t index_ = 0;                                              // position in set_.conns_
  std::string pending_;                                                // unparsed input kept between reads
  std::unique_ptr<bhttp::request_parser<bhttp::string_body>> parser_;  // only while a request is read
  Clock::time_point deadline_{};
  bool close_after_flush_ = false;
  bool close_sent_ = false;
  bool reading_ = false;
  bool flush_scheduled_ = false;
  bool waiting_write_ = false;
  bool overflowed_ = false;     // over the backlog limit; a close is on its way
  bool input_paused_ = false;   // HTTP responses over max_http_queue_bytes: input is left unread
  bool resume_posted_ = false;  // a resume_input is on its way
  std::uint16_t quiet_ticks_ = 0;  // loop ticks since the last input (WebSocket pings)
  std::uint8_t ping_offset_ = 0;   // ticks taken off the ping interval, so pings spread over time
  OutputQueue out_;
  std::unique_ptr<ws::FrameParser> frames_;
  std::optional<ws::DeflateParams> deflate_;  // agreed at the upgrade
  std::unique_ptr<ws::Deflater> own_deflater_;  // context takeover only, made on first use
  std::unique_ptr<WsSession> session_;
  std::unique_ptr<net::IpLimits::Lease> lease_;  // frees the client address's slot when the connection ends
  std::shared_ptr<Connection> paused_self_;      // while input is paused no read owns us
  asio::ip::address peer_;    // the TCP peer, or the client its PROXY header named
  asio::ip::address client_;  // peer_, or the client a trusted proxy's header names for the current request
  asio::ip::address leased_;  // the address lease_ counts against
  net::Limit refused_ = net::Limit::kCount;  // the per-address limit that refused the client
  bool via_proxy_ = false;                   // peer_ is a trusted proxy: admission waits for the client's address
  bool awaiting_proxy_header_ = false;
  std::string proxy_header_;  // the PROXY header's bytes so far, while it is cut across reads
};

/// Serialises `r` as an HTTP/1.1 response.
std::string serialize_response(const Response& r, bool keep_alive);

/// A JSON error body {"error": message}, escaped.
std::string json_error(std::string_view message);

}  // namespace peercable::http
