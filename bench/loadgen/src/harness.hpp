// The client side of a benchmark: N Action Cable connections on one epoll loop. Connects them at a
// paced rate from several loopback source addresses to one server port or, round-robin, to several,
// completes the WebSocket handshake, subscribes each to BenchmarkChannel after its welcome, answers
// WebSocket pings, and hands every channel message to the running scenario.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cable_message.hpp"
#include "frame_codec.hpp"
#include "inflate.hpp"
#include "options.hpp"
#include "stats.hpp"

namespace loadgen {

enum class ConnState : std::uint8_t { unstarted, connecting, handshaking, open, closed };

/// One client connection. `ready` means welcomed and subscribed and still open.
struct Connection {
  int fd = -1;
  ConnState state = ConnState::unstarted;
  std::uint16_t server = 0;  ///< index in Options::ports of the server it talks to
  bool welcomed = false;
  bool subscribed = false;
  bool resolved = false;  ///< counted once as subscribed or failed during the connect phase
  bool close_sent = false;
  bool in_fragment = false;
  bool want_write = false;
  bool deflate = false;             ///< permessage-deflate agreed
  bool fragment_compressed = false;  ///< the message being reassembled had RSV1 on its first frame
  Opcode fragment_opcode = Opcode::text;
  std::int64_t started_us = 0;
  std::int64_t welcomed_us = 0;
  std::int64_t subscribed_us = 0;
  std::int64_t last_seq = -1;  ///< last broadcast sequence number seen, for order checks
  StreamPositions positions;   ///< extended protocol: the last offset seen per stream
  std::string in;              ///< unparsed bytes kept between reads (partial handshake or frame)
  std::string out;             ///< bytes the socket did not take yet
  std::string fragments;       ///< a fragmented message being reassembled
  std::string expected_accept;
  /// Only for a server that keeps its deflate context between messages; otherwise the harness's shared one.
  std::unique_ptr<MessageInflater> inflater;

  bool ready() const { return state == ConnState::open && subscribed; }
};

/// Counts of everything that went wrong or was merely noticed.
struct HarnessCounters {
  std::int64_t connect_errors = 0;      ///< socket/bind/connect failed
  std::int64_t handshake_failures = 0;  ///< bad upgrade response or closed during the handshake
  std::int64_t rejected = 0;            ///< reject_subscription
  std::int64_t unauthorized = 0;        ///< disconnect before welcome
  std::int64_t timeouts = 0;            ///< not subscribed within the handshake timeout
  std::int64_t dropped = 0;             ///< closed by the server (or reset) after being ready
  std::int64_t protocol_errors = 0;     ///< malformed frames from the server
  std::int64_t cable_pings = 0;         ///< {"type":"ping"} frames
  std::int64_t ws_pings = 0;            ///< RFC 6455 ping control frames (answered with pong)
  std::int64_t fragmented = 0;          ///< messages that arrived in several frames
  std::int64_t unparsed = 0;            ///< text frames that were not JSON objects we understand
  std::int64_t deflate_agreed = 0;      ///< connections with permessage-deflate negotiated
  std::int64_t compressed_messages = 0;  ///< data messages that arrived compressed (RSV1)
  std::int64_t wire_message_bytes = 0;   ///< data message payload bytes as received
  std::int64_t message_bytes = 0;        ///< the same after inflating
  std::int64_t history_confirmed = 0;    ///< confirm_history (extended protocol)
  std::int64_t history_rejected = 0;     ///< reject_history (extended protocol)
  std::int64_t positioned_messages = 0;  ///< channel messages with stream_id, epoch and offset
  std::int64_t unpositioned_broadcasts = 0;  ///< extended protocol: broadcasts without a stream position
  std::int64_t offset_gaps = 0;              ///< a broadcast whose offset skipped some on its stream
  std::int64_t offsets_skipped = 0;          ///< the offsets those gaps skipped, in all
  std::int64_t offset_duplicates = 0;        ///< a broadcast whose offset was not after the last on its stream
  std::int64_t epoch_changes = 0;            ///< a stream's epoch changed on a connection
  std::string first_error;
  std::string extensions;  ///< the first Sec-WebSocket-Extensions response seen, as received
};

class Harness {
 public:
  using MessageHandler = std::function<void(Connection&, const CableMessage&, std::int64_t now_us)>;
  /// Called with the current time; does due work and returns when it next wants to run.
  using Tick = std::function<std::int64_t(std::int64_t now_us)>;

  explicit Harness(const Options& options);
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  /// Opens all connections at the configured rate and waits until each is subscribed or has failed,
  /// or until `until_us`. Returns true when every connection was resolved.
  bool connect_all(std::int64_t until_us);

  /// Runs the event loop until `done()` holds, `until_us` passes or a stop was requested.
  /// Returns true when `done()` held.
  bool run_until(std::int64_t until_us, const std::function<bool()>& done, const Tick& tick = {});

  /// Sends one masked text frame on `c` if it is open; returns false otherwise.
  bool send_text(Connection& c, std::string_view text);

  /// Sends a close frame on every open connection, waits up to `until_us` for the server to close, then
  /// closes whatever is left.
  void close_all(std::int64_t until_us);

  /// Installs the per-message callback; it must stay valid until replaced, cleared or close_all().
  void set_handler(MessageHandler handler) { handler_ = std::move(handler); }
  std::vector<Connection>& connections() { return conns_; }
  int ready_count() const;
  const HarnessCounters& counters() const { return counters_; }
  /// Connect-to-welcome times of every welcomed connection.
  const LatencyRecorder& welcome_latency() const { return welcome_latency_; }
  std::int64_t first_start_us() const { return first_start_us_; }
  std::int64_t last_welcome_us() const { return last_welcome_us_; }
  std::int64_t last_subscribe_us() const { return last_subscribe_us_; }
  int source_address_count() const { return static_cast<int>(sources_.size()); }
  int server_count() const { return static_cast<int>(servers_.size()); }
  int subscribed_total() const { return subscribed_total_; }

  /// Set from a signal handler: every run_until returns as soon as it sees it.
  static volatile int stop_requested;

 private:
  void start_connection(std::size_t index, std::int64_t now);
  void on_event(std::size_t index, std::uint32_t events);
  void on_connected(Connection& c);
  void on_readable(Connection& c);
  void on_bytes(Connection& c, const char* data, std::size_t len, std::int64_t now);
  /// Parses frames at the start of `bytes`; returns how many bytes were consumed.
  std::size_t on_frames(Connection& c, std::string_view bytes, std::int64_t now);
  /// Inflates a compressed message, then hands it on as on_message (or fails the connection).
  void on_data(Connection& c, Opcode opcode, bool compressed, std::string_view payload, std::int64_t now);
  void on_message(Connection& c, std::string_view text, std::int64_t now);
  /// Extended protocol: checks a channel message's stream position against the connection's last one.
  void check_position(Connection& c, const CableMessage& m);
  void flush(Connection& c);
  void update_interest(Connection& c);
  void fail(Connection& c, std::int64_t HarnessCounters::*counter, std::string_view why);
  void close_connection(Connection& c);
  void resolve(Connection& c, bool subscribed);
  std::int64_t connect_tick(std::int64_t now);
  std::uint32_t next_mask();

  const Options& options_;
  int epoll_fd_ = -1;
  std::vector<sockaddr_in> servers_;  ///< one per --port, in order
  std::vector<std::string> host_headers_;
  std::vector<sockaddr_in> sources_;
  std::vector<Connection> conns_;
  std::vector<char> read_buffer_;
  std::string scratch_;
  std::string inflated_;
  MessageInflater shared_inflater_{true};  ///< for every server_no_context_takeover connection
  MessageHandler handler_;
  HarnessCounters counters_;
  LatencyRecorder welcome_latency_;
  std::size_t started_ = 0;
  int resolved_ = 0;
  int subscribed_total_ = 0;
  std::int64_t connect_begin_us_ = 0;
  std::int64_t next_timeout_scan_us_ = 0;
  std::int64_t first_start_us_ = 0;
  std::int64_t last_welcome_us_ = 0;
  std::int64_t last_subscribe_us_ = 0;
  bool closing_ = false;
  std::uint32_t mask_state_ = 0x9E3779B9u;
  std::string subscribe_;
};

}  // namespace loadgen
