#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "clock.hpp"
#include "handshake.hpp"

namespace loadgen {

volatile int Harness::stop_requested = 0;

namespace {

constexpr std::size_t kReadBufferBytes = 256 * 1024;
constexpr std::uint64_t kMaxMessageBytes = 64 * 1024 * 1024;
constexpr std::int64_t kHandshakeTimeoutUs = 15'000'000;
constexpr int kMaxEvents = 1024;
constexpr int kClientsPerSourceAddress = 10'000;

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

}  // namespace

Harness::Harness(const Options& options)
    : options_(options), read_buffer_(kReadBufferBytes), subscribe_(subscribe_command()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::runtime_error(errno_text("epoll_create1", errno));

  in_addr host{};
  if (inet_pton(AF_INET, options.host.c_str(), &host) != 1)
    throw std::runtime_error("--host must be an IPv4 address, got " + options.host);
  if (options.ports.empty()) throw std::runtime_error("no server port");
  for (const int port : options.ports) {
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(static_cast<std::uint16_t>(port));
    server.sin_addr = host;
    servers_.push_back(server);
    host_headers_.push_back(options.host + ":" + std::to_string(port));
  }

  // Each source address has its own ~28k ephemeral ports towards one server port, so spreading the
  // clients over 127.0.0.1..N lifts the per-address port limit. Only meaningful on loopback.
  const bool loopback = (ntohl(host.s_addr) >> 24) == 127;
  if (loopback) {
    int n = options.source_addrs;
    if (n == 0) n = std::max(2, (options.clients + kClientsPerSourceAddress - 1) / kClientsPerSourceAddress);
    for (int i = 1; i <= n; ++i) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl((127u << 24) | static_cast<std::uint32_t>(i));
      sources_.push_back(src);
    }
  }
  conns_.resize(static_cast<std::size_t>(options.clients));
}

Harness::~Harness() {
  for (auto& c : conns_)
    if (c.fd >= 0) ::close(c.fd);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

int Harness::ready_count() const {
  return static_cast<int>(std::count_if(conns_.begin(), conns_.end(), [](const Connection& c) { return c.ready(); }));
}

std::uint32_t Harness::next_mask() {
  // xorshift32: masking keys only need to vary, not to be secret, for a load generator.
  mask_state_ ^= mask_state_ << 13;
  mask_state_ ^= mask_state_ >> 17;
  mask_state_ ^= mask_state_ << 5;
  return mask_state_;
}

void Harness::start_connection(std::size_t index, std::int64_t now) {
  Connection& c = conns_[index];
  c.server = static_cast<std::uint16_t>(index % servers_.size());
  c.started_us = now;
  if (first_start_us_ == 0) first_start_us_ = now;
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return fail(c, &HarnessCounters::connect_errors, errno_text("socket", errno));
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!sources_.empty()) {
    // Let connect() pick the port so the same port can serve different destinations.
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const sockaddr_in& src = sources_[index % sources_.size()];
    if (::bind(c.fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0)
      return fail(c, &HarnessCounters::connect_errors, errno_text("bind", errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = index;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0)
    return fail(c, &HarnessCounters::connect_errors, errno_text("epoll_ctl", errno));
  c.state = ConnState::connecting;
  c.want_write = true;
  const sockaddr_in& server = servers_[c.server];
  if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0 && errno != EINPROGRESS)
    return fail(c, &HarnessCounters::connect_errors, errno_text("connect", errno));
}

void Harness::on_connected(Connection& c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return fail(c, &HarnessCounters::connect_errors, errno_text("connect", err));
  c.state = ConnState::handshaking;
  UpgradeRequest req =
      make_upgrade_request(host_headers_[c.server], options_.path, options_.deflate, options_.protocol);
  c.expected_accept = std::move(req.expected_accept);
  c.out = std::move(req.bytes);
  flush(c);
}

void Harness::update_interest(Connection& c) {
  const bool want = !c.out.empty();
  if (want == c.want_write || c.fd < 0) return;
  c.want_write = want;
  epoll_event ev{};
  ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Harness::flush(Connection& c) {
  while (!c.out.empty()) {
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    return close_connection(c);
  }
  update_interest(c);
}

bool Harness::send_text(Connection& c, std::string_view text) {
  if (c.state != ConnState::open || c.close_sent) return false;
  if (!c.out.empty()) {
    append_client_frame(c.out, Opcode::text, text, next_mask());
    return true;
  }
  scratch_.clear();
  append_client_frame(scratch_, Opcode::text, text, next_mask());
  std::size_t sent = 0;
  while (sent < scratch_.size()) {
    const ssize_t n = ::send(c.fd, scratch_.data() + sent, scratch_.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c.out.assign(scratch_, sent);
      update_interest(c);
      return true;
    } else {
      close_connection(c);
      return false;
    }
  }
  return true;
}

void Harness::on_event(std::size_t index, std::uint32_t events) {
  Connection& c = conns_[index];
  if (c.fd < 0) return;
  if (c.state == ConnState::connecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c);
    return;
  }
  if (events & EPOLLOUT) flush(c);
  if (c.fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_readable(c);
}

void Harness::on_readable(Connection& c) {
  // Level-triggered: one read per wake-up keeps a busy connection from starving the rest.
  while (c.fd >= 0) {
    const ssize_t n = ::recv(c.fd, read_buffer_.data(), read_buffer_.size(), 0);
    if (n > 0) return on_bytes(c, read_buffer_.data(), static_cast<std::size_t>(n), now_us());
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    if (c.state == ConnState::handshaking)
      return fail(c, &HarnessCounters::handshake_failures, "closed during handshake");
    return close_connection(c);
  }
}

void Harness::on_bytes(Connection& c, const char* data, std::size_t len, std::int64_t now) {
  if (c.state == ConnState::handshaking) {
    c.in.append(data, len);
    const HandshakeResult hs = check_upgrade_response(c.in, c.expected_accept, options_.deflate, options_.protocol);
    if (hs.status == HandshakeStatus::incomplete) return;
    if (hs.status == HandshakeStatus::rejected) return fail(c, &HarnessCounters::handshake_failures, hs.reason);
    c.state = ConnState::open;
    if (counters_.extensions.empty() && !hs.extensions.empty()) counters_.extensions = hs.extensions;
    if (hs.deflate) {
      c.deflate = true;
      ++counters_.deflate_agreed;
      if (!hs.deflate->server_no_context_takeover) c.inflater = std::make_unique<MessageInflater>(false);
    }
    c.expected_accept.clear();
    c.expected_accept.shrink_to_fit();
    c.in.erase(0, hs.header_bytes);
    const std::size_t used = on_frames(c, c.in, now);
    if (c.fd >= 0) c.in.erase(0, used);
    return;
  }
  if (c.state != ConnState::open) return;
  if (c.in.empty()) {
    // Common case: whole frames straight from the shared buffer, only a tail gets copied.
    const std::string_view bytes(data, len);
    const std::size_t used = on_frames(c, bytes, now);
    if (c.fd >= 0 && used < len) c.in.assign(bytes.substr(used));
    return;
  }
  c.in.append(data, len);
  const std::size_t used = on_frames(c, c.in, now);
  if (c.fd >= 0) {
    c.in.erase(0, used);
    if (c.in.empty()) c.in.shrink_to_fit();
  }
}

std::size_t Harness::on_frames(Connection& c, std::string_view bytes, std::int64_t now) {
  std::size_t pos = 0;
  while (c.fd >= 0 && pos < bytes.size()) {
    const ParsedFrame f = parse_server_frame(bytes.substr(pos), kMaxMessageBytes, c.deflate);
    if (f.status == ParseStatus::need_more) break;
    if (f.status == ParseStatus::protocol_error) {
      ++counters_.protocol_errors;
      if (counters_.first_error.empty()) counters_.first_error = f.error;
      close_connection(c);
      return pos;
    }
    pos += f.consumed;
    switch (f.opcode) {
      case Opcode::text:
      case Opcode::binary:
        if (c.in_fragment) {
          ++counters_.protocol_errors;
          close_connection(c);
          return pos;
        }
        if (f.fin) {
          on_data(c, f.opcode, f.compressed, f.payload, now);
        } else {
          c.in_fragment = true;
          c.fragment_opcode = f.opcode;
          c.fragment_compressed = f.compressed;
          c.fragments.assign(f.payload);
        }
        break;
      case Opcode::continuation:
        if (!c.in_fragment) {
          ++counters_.protocol_errors;
          close_connection(c);
          return pos;
        }
        c.fragments.append(f.payload);
        if (f.fin) {
          c.in_fragment = false;
          ++counters_.fragmented;
          const std::string message = std::move(c.fragments);
          c.fragments.clear();
          on_data(c, c.fragment_opcode, c.fragment_compressed, message, now);
        }
        break;
      case Opcode::ping: {
        ++counters_.ws_pings;
        std::string pong;
        append_client_frame(pong, Opcode::pong, f.payload, next_mask());
        c.out += pong;
        flush(c);
        break;
      }
      case Opcode::pong: break;
      case Opcode::close:
        if (!c.close_sent) {
          // Echo the status code back (RFC 6455 §5.5.1) before closing our side.
          append_client_frame(c.out, Opcode::close, f.payload.substr(0, std::min<std::size_t>(2, f.payload.size())),
                              next_mask());
          c.close_sent = true;
          flush(c);
        }
        close_connection(c);
        return pos;
    }
  }
  return pos;
}

void Harness::on_data(Connection& c, Opcode opcode, bool compressed, std::string_view payload, std::int64_t now) {
  counters_.wire_message_bytes += static_cast<std::int64_t>(payload.size());
  if (compressed) {
    ++counters_.compressed_messages;
    MessageInflater& inflater = c.inflater ? *c.inflater : shared_inflater_;
    if (!inflater.inflate_message(payload, kMaxMessageBytes, inflated_)) {
      ++counters_.protocol_errors;
      if (counters_.first_error.empty()) counters_.first_error = "compressed message does not inflate";
      return close_connection(c);
    }
    payload = inflated_;
  }
  counters_.message_bytes += static_cast<std::int64_t>(payload.size());
  if (opcode != Opcode::text) {
    ++counters_.unparsed;
    return;
  }
  // on_message may reach a handler that sends, never one that receives, so inflated_ stays intact.
  on_message(c, payload, now);
}

void Harness::on_message(Connection& c, std::string_view text, std::int64_t now) {
  const CableMessage m = parse_cable_message(text);
  switch (m.kind) {
    case CableKind::welcome:
      if (!c.welcomed) {
        c.welcomed = true;
        c.welcomed_us = now;
        last_welcome_us_ = std::max(last_welcome_us_, now);
        welcome_latency_.add(now - c.started_us);
        // Subscribing after welcome (not on open) sidesteps a command-buffer race in Rails 6.1. An
        // extended client asks for what was broadcast since now, as @anycable/core does on a first subscribe.
        if (options_.protocol == CableProtocol::ext)
          send_text(c, subscribe_command(CableProtocol::ext, static_cast<std::int64_t>(std::time(nullptr))));
        else
          send_text(c, subscribe_);
      }
      break;
    case CableKind::confirm:
      if (!c.subscribed) {
        c.subscribed = true;
        c.subscribed_us = now;
        last_subscribe_us_ = std::max(last_subscribe_us_, now);
        resolve(c, true);
      }
      break;
    case CableKind::reject: fail(c, &HarnessCounters::rejected, "reject_subscription"); break;
    case CableKind::disconnect:
      if (!c.welcomed) fail(c, &HarnessCounters::unauthorized, "disconnect before welcome: " + std::string(m.reason));
      break;
    case CableKind::ping: ++counters_.cable_pings; break;
    case CableKind::history_confirm: ++counters_.history_confirmed; break;
    case CableKind::history_reject:
      ++counters_.history_rejected;
      if (counters_.first_error.empty()) counters_.first_error = "reject_history";
      break;
    case CableKind::message:
      check_position(c, m);
      if (handler_) handler_(c, m, now);
      break;
    case CableKind::other:
    case CableKind::invalid: ++counters_.unparsed; break;
  }
}

void Harness::check_position(Connection& c, const CableMessage& m) {
  if (!m.positioned()) {
    // Replies to one subscription (broadcastResult, echo) carry no position; broadcasts should.
    if (options_.protocol == CableProtocol::ext && m.action == "broadcast") ++counters_.unpositioned_broadcasts;
    return;
  }
  ++counters_.positioned_messages;
  if (options_.protocol != CableProtocol::ext) return;  // a plain client must not see any: the report shows it
  const PositionSeen seen = c.positions.see(m.stream_id, m.epoch, m.offset);
  switch (seen.check) {
    case PositionCheck::first:
    case PositionCheck::next:
    case PositionCheck::untracked: break;
    case PositionCheck::gap:
      ++counters_.offset_gaps;
      counters_.offsets_skipped += seen.skipped;
      break;
    case PositionCheck::duplicate: ++counters_.offset_duplicates; break;
    case PositionCheck::new_epoch: ++counters_.epoch_changes; break;
  }
}

void Harness::resolve(Connection& c, bool subscribed) {
  if (c.resolved) return;
  c.resolved = true;
  ++resolved_;
  if (subscribed) ++subscribed_total_;
}

void Harness::fail(Connection& c, std::int64_t HarnessCounters::*counter, std::string_view why) {
  ++(counters_.*counter);
  if (counters_.first_error.empty()) counters_.first_error = std::string(why);
  resolve(c, false);
  close_connection(c);
}

void Harness::close_connection(Connection& c) {
  if (c.fd >= 0) {
    ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
  }
  if (c.state == ConnState::closed) return;
  if (!closing_ && c.ready()) {
    ++counters_.dropped;
    if (counters_.first_error.empty()) counters_.first_error = "server closed a subscribed connection";
  }
  if (!c.resolved && !closing_) {
    // Closed by the server before being subscribed.
    ++counters_.handshake_failures;
    if (counters_.first_error.empty()) counters_.first_error = "closed before subscription was confirmed";
    resolve(c, false);
  }
  c.state = ConnState::closed;
  c.in.clear();
  c.in.shrink_to_fit();
  c.out.clear();
  c.out.shrink_to_fit();
  c.fragments.clear();
  c.fragments.shrink_to_fit();
  c.inflater.reset();
}

std::int64_t Harness::connect_tick(std::int64_t now) {
  const std::size_t n = conns_.size();
  std::int64_t next = INT64_MAX;
  if (started_ < n) {
    std::size_t due = n;
    if (options_.connect_rate > 0) {
      const double elapsed = static_cast<double>(now - connect_begin_us_) / 1e6;
      due = std::min(n, static_cast<std::size_t>(elapsed * options_.connect_rate) + 1);
    }
    // With --max-pending, a server that falls behind slows the connects down instead of being buried
    // under handshakes that then time out.
    const auto pending_ok = [&] {
      return options_.max_pending <= 0 ||
             started_ - static_cast<std::size_t>(resolved_) < static_cast<std::size_t>(options_.max_pending);
    };
    while (started_ < due && pending_ok()) start_connection(started_++, now);
    if (started_ < due)
      next = now + 1'000;  // held back by --max-pending: look again soon (resolutions come as events)
    else if (started_ < n)
      next = connect_begin_us_ + static_cast<std::int64_t>(static_cast<double>(started_) / options_.connect_rate * 1e6);
  }
  if (now >= next_timeout_scan_us_) {
    next_timeout_scan_us_ = now + 250'000;
    for (std::size_t i = 0; i < started_; ++i) {
      Connection& c = conns_[i];
      if (!c.resolved && now - c.started_us > kHandshakeTimeoutUs)
        fail(c, &HarnessCounters::timeouts, "no confirm_subscription within 15 s");
    }
  }
  return std::min(next, next_timeout_scan_us_);
}

bool Harness::connect_all(std::int64_t until_us) {
  connect_begin_us_ = now_us();
  next_timeout_scan_us_ = connect_begin_us_ + 250'000;
  const int n = static_cast<int>(conns_.size());
  return run_until(
      until_us, [&] { return started_ == conns_.size() && resolved_ == n; },
      [&](std::int64_t now) { return connect_tick(now); });
}

bool Harness::run_until(std::int64_t until_us, const std::function<bool()>& done, const Tick& tick) {
  epoll_event events[kMaxEvents];
  while (true) {
    if (done && done()) return true;
    std::int64_t now = now_us();
    if (now >= until_us || stop_requested) return false;
    std::int64_t wake = until_us;
    if (tick) {
      wake = std::min(wake, tick(now));
      if (done && done()) return true;
      now = now_us();
    }
    // Millisecond timer resolution; cap the sleep so stop requests are seen promptly.
    const std::int64_t wait_us = std::clamp<std::int64_t>(wake - now, 0, 100'000);
    const int timeout_ms = static_cast<int>((wait_us + 999) / 1000);
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(errno_text("epoll_wait", errno));
    }
    for (int i = 0; i < n; ++i) {
      on_event(static_cast<std::size_t>(events[i].data.u64), events[i].events);
      // A flood of input must not delay timed work (paced sends) or the deadline by a whole batch of
      // events; events left unhandled are level-triggered and come back on the next wait.
      if ((i & 31) == 31) {
        now = now_us();
        if (now >= until_us || stop_requested) break;
        if (tick && now >= wake) wake = std::min(until_us, tick(now));
      }
    }
  }
}

void Harness::close_all(std::int64_t until_us) {
  closing_ = true;
  handler_ = nullptr;  // the scenario that set it may be gone; late messages are only drained
  static constexpr char kNormalClosure[] = {'\x03', '\xE8'};  // 1000
  for (auto& c : conns_) {
    if (c.state == ConnState::open && !c.close_sent) {
      append_client_frame(c.out, Opcode::close, std::string_view(kNormalClosure, 2), next_mask());
      c.close_sent = true;
      flush(c);
    } else if (c.state != ConnState::open) {
      close_connection(c);
    }
  }
  run_until(until_us,
            [&] { return std::all_of(conns_.begin(), conns_.end(), [](const Connection& c) { return c.fd < 0; }); });
  for (auto& c : conns_) close_connection(c);
}

}  // namespace loadgen
