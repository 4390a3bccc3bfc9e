// One connection's life, kept together because its states share every handler: HTTP requests until an upgrade,
// WebSocket frames in, the closing handshake, the drain. Its output is OutputQueue (output_queue.cpp), its
// client's address and admission client_address.cpp.
#include "http/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include "json/writer.hpp"

namespace peercable::http {

namespace {
constexpr std::chrono::milliseconds kDrainTime{1000};
constexpr std::size_t kTlsPlainRoom = std::size_t{16} * 1024;  // a TLS record's plaintext, at the read buffer's end
}  // namespace

std::string json_error(std::string_view message) {
  std::string out = "{\"error\":";
  json::append_string(out, message);
  out += "}";
  return out;
}

std::string serialize_response(const Response& r, bool keep_alive) {
  std::string out;
  out.reserve(160 + r.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
  out.append(reason.data(), reason.size());
  out += "\r\n";
  if (!r.content_type.empty()) out += "Content-Type: " + r.content_type + "\r\n";
  // RFC 9110 §8.6: a 304 names no length (it would have to be the full representation's).
  if (r.status != 304) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

// ---- ConnectionSet -------------------------------------------------------------------------------

ConnectionSet::ConnectionSet(net::Loop& loop, Router& router, const ConnectionSettings& settings)
    : loop_(loop),
      router_(router),
      settings_(settings),
      deflate_(settings.deflate.options, settings.deflate.min_size),
      ping_frame_(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kPing, {}))) {}

void ConnectionSet::adopt(asio::ip::tcp::socket socket, std::unique_ptr<net::IpLimits::Lease> lease) {
  auto c = std::make_shared<Connection>(*this, std::move(socket));
  c->lease_ = std::move(lease);
  c->start();
}

void ConnectionSet::add(Connection* c) {
  c->index_ = conns_.size();
  conns_.push_back(c);
  loop_.counters().connections.fetch_add(1, std::memory_order_relaxed);
  loop_.counters().accepted.fetch_add(1, std::memory_order_relaxed);
}

void ConnectionSet::remove(Connection* c) {
  std::size_t i = c->index_;
  if (i >= conns_.size() || conns_[i] != c) return;
  conns_[i] = conns_.back();
  conns_[i]->index_ = i;
  conns_.pop_back();
  loop_.counters().connections.fetch_sub(1, std::memory_order_relaxed);
}

void ConnectionSet::tick() {
  const auto now = Clock::now();
  // on_tick may remove entries (swap with the last), so walk backwards over a stable range.
  for (std::size_t i = conns_.size(); i-- > 0;) {
    if (i < conns_.size()) {
      auto keep = conns_[i]->shared_from_this();
      keep->on_tick(now);
    }
  }
}

void ConnectionSet::shutdown() {
  std::vector<std::shared_ptr<Connection>> all;
  all.reserve(conns_.size());
  for (auto* c : conns_) all.push_back(c->shared_from_this());
  for (auto& c : all) {
    if (c->state_ == Connection::State::kWebSocket) {
      c->session_->on_shutdown();
      c->close(ws::close_code::kGoingAway, "server shutting down");
    } else if (c->state_ == Connection::State::kHttp) {
      c->begin_drain();
    }
  }
}

// ---- Connection ----------------------------------------------------------------------------------

Connection::Connection(ConnectionSet& set, asio::ip::tcp::socket socket) : set_(set), socket_(std::move(socket)) {}

Connection::~Connection() = default;

void Connection::start() {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  set_socket_options();
  auto peer = socket_.remote_endpoint(ec);
  if (!ec) peer_ = client_ = net::unmapped(peer.address());
  const auto& trusted = set_.settings().proxies.trusted;
  via_proxy_ = trusted && trusted->contains(peer_);
  awaiting_proxy_header_ = via_proxy_ && set_.settings().proxies.proxy_protocol;
  set_.add(this);
  // The header timeout runs from here, so it also bounds a TLS handshake that stalls (slowloris).
  deadline_ = Clock::now() + set_.limits().header_timeout;
  if (set_.settings().tls) {
    tls_ = net::TlsSession::create(*set_.settings().tls);
    if (!tls_) return finish();
  }
  do_read();
}

// Dead peers whose network vanished: keepalive probes an idle socket, and the user timeout bounds how long
// sent data may stay unacknowledged. A stopped process's kernel still answers both; WebSocket pings find that.
void Connection::set_socket_options() {
  const int fd = socket_.native_handle();
  const auto& l = set_.limits();
  if (l.tcp_keepalive.count() > 0) {
    int on = 1, idle = static_cast<int>(l.tcp_keepalive.count()), interval = 10, count = 3;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  }
  if (l.tcp_user_timeout.count() > 0) {
    unsigned ms = static_cast<unsigned>(l.tcp_user_timeout.count() * 1000);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
  }
}

void Connection::do_read() {
  if (reading_ || input_paused_ || state_ == State::kClosed) return;
  reading_ = true;
  socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
    self->reading_ = false;
    if (ec) {
      if (self->state_ != State::kClosed) self->finish();
      return;
    }
    self->on_readable();
  });
}

void Connection::on_readable() {
  auto& buf = set_.loop().read_buffer();
  // With TLS the buffer's tail takes the plaintext of one record while its head holds the ciphertext.
  const std::size_t room = tls_ ? buf.size() - kTlsPlainRoom : buf.size();
  // A bounded number of reads per wake-up keeps one busy client from starving the loop.
  for (int i = 0; i < 4 && state_ != State::kClosed && !input_paused_; ++i) {
    boost::system::error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(buf.data(), room), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) {
      // EOF or reset: the peer is gone; nothing more can be written either.
      finish();
      return;
    }
    quiet_ticks_ = 0;
    std::size_t skip = 0;
    if (awaiting_proxy_header_) {
      skip = on_proxy_bytes(buf.data(), n);
      if (state_ != State::kHttp) break;  // refused or closed
    }
    if (skip < n) {
      if (tls_)
        on_tls_bytes(buf.data() + skip, n - skip, buf.data() + room, buf.size() - room);
      else
        on_bytes(buf.data() + skip, n - skip);
    }
    if (n < room) break;
  }
  do_read();
}

void Connection::on_bytes(std::uint8_t* data, std::size_t n) {
  switch (state_) {
    case State::kHttp:
      pending_.append(reinterpret_cast<char*>(data), n);
      on_http_bytes();
      return;
    case State::kWebSocket:
    case State::kClosing: {
      if (!frames_) return;  // an HTTP connection closing after its last response: input is discarded
      if (set_.limits().ws_idle_timeout.count() > 0 && state_ == State::kWebSocket)
        deadline_ = Clock::now() + set_.limits().ws_idle_timeout;
      if (frames_->finished()) return;
      if (pending_.empty()) {
        std::size_t used = frames_->parse(data, n, *this);
        if (used < n && !frames_->finished()) pending_.assign(reinterpret_cast<char*>(data) + used, n - used);
      } else {
        pending_.append(reinterpret_cast<char*>(data), n);
        std::size_t used = frames_->parse(reinterpret_cast<std::uint8_t*>(pending_.data()), pending_.size(), *this);
        pending_.erase(0, used);
      }
      if (frames_->finished()) std::string().swap(pending_);
      return;
    }
    case State::kDraining:
    case State::kClosed: return;  // discarded
  }
}

// Ciphertext from the socket: drives the handshake, then hands each record's plaintext to on_bytes. What
// OpenSSL answers (handshake messages, session tickets) is sent by the next flush.
void Connection::on_tls_bytes(const std::uint8_t* data, std::size_t n, std::uint8_t* plain, std::size_t cap) {
  if (state_ == State::kDraining || state_ == State::kClosed) return;  // discarded, as on_bytes does
  const std::size_t out_before = tls_->output().size();
  tls_->feed(data, n);
  for (;;) {
    std::size_t got = 0;
    const net::TlsRead r = tls_->read(plain, cap, got);
    if (r == net::TlsRead::kNeedMore) break;
    if (r == net::TlsRead::kClosed) return begin_drain();  // the peer's close_notify: ours, then half-close
    if (r == net::TlsRead::kFailed) return fail_tls();
    on_bytes(plain, got);
    if (state_ == State::kDraining || state_ == State::kClosed) return;
  }
  out_.add_ciphertext(tls_->output().size() - out_before);
  if (!tls_->output().empty()) schedule_flush();
}

// A handshake that fails (plain HTTP on the TLS port, an old protocol version, garbage) or a bad record:
// the alert OpenSSL prepared goes out with the half-close; no close_notify after a fatal alert.
void Connection::fail_tls() {
  if (spdlog::should_log(spdlog::level::debug))  // a flood of bad handshakes costs no address lookups
    spdlog::debug("TLS {} from {}: {}", tls_->handshake_done() ? "error" : "handshake failed", remote_address(),
                  tls_->failure());
  begin_drain();
}

void Connection::on_http_bytes() {
  while (state_ == State::kHttp && !pending_.empty()) {
    if (out_.bytes() > set_.limits().max_http_queue_bytes) {
      // The client sends requests faster than it reads the answers: stop parsing and reading until the
      // queue drains (flush resumes), so what it can make us hold is bounded. With no read armed, nothing
      // else may own us until then: we hold ourselves, released by the resume or by finish.
      input_paused_ = true;
      paused_self_ = shared_from_this();
      return;
    }
    if (!parser_) {
      parser_ = std::make_unique<bhttp::request_parser<bhttp::string_body>>();
      parser_->header_limit(static_cast<std::uint32_t>(set_.limits().max_header_bytes));
      parser_->body_limit(set_.limits().max_body_bytes);
      parser_->eager(true);
      deadline_ = Clock::now() + set_.limits().header_timeout;
    }
    boost::system::error_code ec;
    std::size_t used = parser_->put(asio::buffer(pending_.data(), pending_.size()), ec);
    pending_.erase(0, used);
    if (ec == bhttp::error::need_more) {
      if (pending_.size() > set_.limits().max_header_bytes + set_.limits().max_body_bytes)
        return send_error(431, "request header too large");
      return;
    }
    if (ec == bhttp::error::header_limit) return send_error(431, "request header too large");
    if (ec == bhttp::error::body_limit) return send_error(413, "request body too large");
    if (ec) return send_error(400, "malformed HTTP request");
    if (!parser_->is_done()) return;
    Request req = parser_->release();
    parser_.reset();
    handle_request(req, req.keep_alive());
  }
}

void Connection::handle_request(Request& req, bool keep_alive) {
  // RFC 9112 §6.3: a request whose Transfer-Encoding does not end in chunked has no knowable length, and
  // reading on would take its body for the next request (request smuggling).
  if (req.find(bhttp::field::transfer_encoding) != req.end() && !req.chunked())
    return send_error(400, "Transfer-Encoding must end in chunked");
  if (via_proxy_ && !identify_client(req)) return;
  RouteResult r = set_.router().route(*this, req);
  if (!r.upgrade) {
    send_response(r.response, keep_alive && !r.response.close);
    if (state_ == State::kHttp && keep_alive && !r.response.close)
      deadline_ = Clock::now() + set_.limits().keepalive_timeout;
    return;
  }
  enqueue(std::make_shared<const std::string>(ws::upgrade_response(*r.upgrade)));
  state_ = State::kWebSocket;
  set_.loop().counters().websockets.fetch_add(1, std::memory_order_relaxed);
  ws::ParserOptions opts;
  opts.max_message_size = set_.limits().max_message_bytes;
  frames_ = std::make_unique<ws::FrameParser>(opts);
  if (r.upgrade->deflate) {
    // No zlib state per connection unless context takeover was agreed, and then only once it is used.
    deflate_ = *r.upgrade->deflate;
    frames_->enable_deflate(*deflate_, &set_.deflate().inflater());
    takes_shared_deflate_ = deflate_->server_no_context_takeover &&
                            deflate_->server_max_window_bits == set_.settings().deflate.options.window_bits;
  }
  ping_offset_ = static_cast<std::uint8_t>((reinterpret_cast<std::uintptr_t>(this) >> 6) %
                                           (set_.limits().ws_ping_interval.count() / 4 + 1));
  deadline_ =
      set_.limits().ws_idle_timeout.count() > 0 ? Clock::now() + set_.limits().ws_idle_timeout : Clock::time_point{};
  session_ = std::move(r.session);
  session_->on_open();
  // Bytes that followed the handshake in the same read are the first frames.
  if (!pending_.empty() && state_ == State::kWebSocket) {
    std::string first;
    first.swap(pending_);
    on_bytes(reinterpret_cast<std::uint8_t*>(first.data()), first.size());
  }
}

void Connection::send_response(const Response& r, bool keep_alive) {
  enqueue(std::make_shared<const std::string>(serialize_response(r, keep_alive)));
  if (!keep_alive) {
    close_after_flush_ = true;
    state_ = State::kClosing;
    deadline_ = Clock::now() + set_.limits().close_timeout;
  }
}

void Connection::send_error(unsigned status, std::string_view message) {
  Response r;
  r.status = status;
  r.body = json_error(message);
  parser_.reset();
  pending_.clear();
  send_response(r, false);
}

void Connection::send_text(std::string_view payload) {
  if (state_ != State::kWebSocket) return;
  if (deflate_ && payload.size() >= set_.deflate().min_size()) {
    if (deflate_->server_no_context_takeover) {
      std::string frame;
      if (set_.deflate().deflate_frame(payload, deflate_->server_max_window_bits, frame))
        return enqueue(std::make_shared<const std::string>(std::move(frame)));
    } else {
      if (!own_deflater_)
        own_deflater_ = std::make_unique<ws::Deflater>(deflate_->server_max_window_bits,
                                                       set_.settings().deflate.options.mem_level, false);
      // With context takeover the compressed form must go out even when larger: the client's window has to
      // hold what ours now holds.
      std::string z;
      if (own_deflater_->deflate_message(payload, z))
        return enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, z, true)));
      return close(ws::close_code::kInternalError, "compression failed");
    }
  }
  enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, payload)));
}

void Connection::send_frame(const ws::SharedFrame& frame) {
  if (state_ != State::kWebSocket) return;
  enqueue(frame);
}

void Connection::close(std::uint16_t code, std::string_view reason) {
  if (state_ != State::kWebSocket) return;
  enqueue(std::make_shared<const std::string>(ws::encode_close(code, reason)));
  close_sent_ = true;
  state_ = State::kClosing;
  deadline_ = Clock::now() + set_.limits().close_timeout;
  leave_websocket();
}

void Connection::enqueue(ws::SharedFrame f) {
  if (state_ == State::kDraining || state_ == State::kClosed || overflowed_) return;
  if (!out_.push(std::move(f), set_.limits().max_backlog_bytes) && state_ == State::kWebSocket) {
    // A slow consumer: drop what it has not started to receive and close it; it never holds up others.
    // The close is posted, not run here, because we may be inside a hub's delivery loop.
    overflowed_ = true;
    set_.loop().counters().slow_consumer_closes.fetch_add(1, std::memory_order_relaxed);
    out_.drop_unsent();
    set_.loop().post([self = shared_from_this()] {
      self->overflowed_ = false;
      self->close(ws::close_code::kTryAgainLater, "slow consumer");
      self->close_after_flush_ = true;
      self->schedule_flush();
    });
    return;
  }
  schedule_flush();
}

void Connection::schedule_flush() {
  if (flush_scheduled_ || waiting_write_) return;
  flush_scheduled_ = true;
  set_.loop().schedule_flush(this);
}

void Connection::flush() {
  flush_scheduled_ = false;
  if (state_ == State::kClosed || state_ == State::kDraining || waiting_write_) return;
  switch (out_.write(socket_.native_handle(), tls_.get(), set_.loop().counters())) {
    case WriteStatus::kDone: break;
    case WriteStatus::kBlocked:
      if (input_paused_) resume_input();
      return wait_writable();
    case WriteStatus::kPeerGone: return finish();
    case WriteStatus::kTlsFailed: return fail_tls();
  }
  if (input_paused_) resume_input();
  if (close_after_flush_) begin_drain();
}

// Reading resumes once the HTTP responses queued have half drained; posted, as flush may run inside a pass.
void Connection::resume_input() {
  if (resume_posted_ || out_.bytes() > set_.limits().max_http_queue_bytes / 2) return;
  resume_posted_ = true;
  set_.loop().post([self = shared_from_this()] {
    self->resume_posted_ = false;
    if (!self->input_paused_ || self->state_ == State::kClosed) return;
    self->input_paused_ = false;
    self->paused_self_.reset();
    self->on_http_bytes();
    self->do_read();
  });
}

void Connection::wait_writable() {
  waiting_write_ = true;
  socket_.async_wait(asio::socket_base::wait_write, [self = shared_from_this()](const boost::system::error_code& ec) {
    self->waiting_write_ = false;
    if (ec) return;
    self->flush();
  });
}

void Connection::leave_websocket() {
  if (!session_) return;
  set_.loop().counters().websockets.fetch_sub(1, std::memory_order_relaxed);
  auto s = std::move(session_);
  s->on_closed();
  // The session may be what called us (its handler closed the connection): it is destroyed by a handler of
  // its own, after the one on the stack has returned, and before the connection it refers to.
  set_.loop().post([self = shared_from_this(), s = std::move(s)]() mutable { s.reset(); });
}

// Our side is done: half-close, then read and discard until the peer closes too (or a short deadline),
// so a response written just before is not lost to a reset caused by unread input.
void Connection::begin_drain() {
  if (state_ == State::kDraining || state_ == State::kClosed) return;
  leave_websocket();
  state_ = State::kDraining;
  input_paused_ = false;                // input is read and discarded from now on
  auto keep = std::move(paused_self_);  // the read armed below owns us from here
  out_.clear();
  if (tls_) OutputQueue::send_tls_goodbye(socket_.native_handle(), *tls_);
  boost::system::error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_send, ec);
  deadline_ = Clock::now() + kDrainTime;
  do_read();
}

void Connection::finish() {
  if (state_ == State::kClosed) return;
  // Leaving first: the session's last words (a P2P "leave" to the room) may reach this very connection and
  // schedule a flush of it, which the check below must see.
  leave_websocket();
  // Off the loop's flush list: nothing is left to write, and the list must not outlive us.
  set_.loop().cancel_flush(this);
  flush_scheduled_ = false;
  state_ = State::kClosed;
  auto keep = std::move(paused_self_);  // released when finish returns
  out_.clear();
  boost::system::error_code ec;
  socket_.close(ec);
  set_.remove(this);
}

// WebSocket liveness, once a tick: a ping after ws_ping_interval of silence, a close when the pong timeout
// passes with no input either. Returns false when the connection was closed.
bool Connection::check_ping() {
  const auto interval = static_cast<unsigned>(set_.limits().ws_ping_interval.count());
  if (interval == 0) return true;
  if (quiet_ticks_ < 0xFFFF) ++quiet_ticks_;
  const unsigned ping_at = interval > ping_offset_ ? interval - ping_offset_ : 1;
  if (quiet_ticks_ == ping_at) {
    enqueue(set_.ping_frame_);
  } else if (quiet_ticks_ >= ping_at + static_cast<unsigned>(set_.limits().ws_pong_timeout.count())) {
    set_.loop().counters().ping_timeouts.fetch_add(1, std::memory_order_relaxed);
    close(ws::close_code::kPolicyViolation, "ping timeout");
    return false;
  }
  return true;
}

void Connection::on_tick(Clock::time_point now) {
  if (state_ == State::kWebSocket && !check_ping()) return;
  if (deadline_ == Clock::time_point{} || now < deadline_) return;
  switch (state_) {
    case State::kHttp:
      if (parser_ || !pending_.empty()) return send_error(408, "request timed out");
      return begin_drain();  // idle keep-alive connection
    case State::kWebSocket: return close(ws::close_code::kPolicyViolation, "idle timeout");
    case State::kClosing: return begin_drain();
    case State::kDraining: return finish();
    case State::kClosed: return;
  }
}

// ---- WebSocket events ----------------------------------------------------------------------------

void Connection::on_message(ws::Opcode op, std::string_view payload) {
  if (state_ == State::kWebSocket) session_->on_message(op, payload);
}

void Connection::on_ping(std::string_view payload) {
  if (state_ == State::kWebSocket)
    enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kPong, payload)));
}

void Connection::on_pong(std::string_view) {}

void Connection::on_close(std::uint16_t code, std::string_view) {
  if (!close_sent_) {
    // RFC 6455 §5.5.1: answer with a close frame, echoing the status code.
    if (state_ == State::kWebSocket) {
      enqueue(std::make_shared<const std::string>(ws::encode_close(code)));
      close_sent_ = true;
      state_ = State::kClosing;
      leave_websocket();
    }
  }
  close_after_flush_ = true;
  deadline_ = Clock::now() + set_.limits().close_timeout;
  schedule_flush();
}

void Connection::on_protocol_error(std::uint16_t code, std::string_view why) {
  set_.loop().counters().protocol_errors.fetch_add(1, std::memory_order_relaxed);
  if (state_ == State::kWebSocket) close(code, why);
  close_after_flush_ = true;
  schedule_flush();
}

}  // namespace peercable::http
