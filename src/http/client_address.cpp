// The client of a connection: the TCP peer, or, behind a trusted proxy, the client its PROXY protocol header
// or each request's forwarding header names; and its admission to the per-address limits.
#include <spdlog/spdlog.h>

#include <atomic>
#include <span>

#include "http/connection.hpp"
#include "net/proxy_protocol.hpp"

namespace peercable::http {

namespace {
constexpr std::size_t kMaxForwardedLines = 32;  // header lines of X-Forwarded-For / Forwarded read per request

// A trusted proxy that sends what we cannot read is a configuration problem worth one warning a minute, not a
// line per request: the rest go to the debug level.
void note_bad_forwarding(const asio::ip::address& peer, std::string_view what) {
  static std::atomic<std::int64_t> last_warned{-1};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  std::int64_t prev = last_warned.load(std::memory_order_relaxed);
  if ((prev < 0 || now - prev >= 60) && last_warned.compare_exchange_strong(prev, now))
    spdlog::warn("trusted proxy {}: {}; using its own address (further ones this minute at debug level)",
                 peer.to_string(), what);
  else if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("trusted proxy {}: {}; using its own address", peer.to_string(), what);
}
}  // namespace

std::string Connection::remote_address() const {
  return client_.to_string();
}

// The PROXY protocol header a trusted load balancer sends first, before TLS and HTTP. Returns how many of the
// `n` bytes it took; the rest are the connection's own. A connection that does not start with a valid header is
// closed; one that sends half of it is closed by the header timeout.
std::size_t Connection::on_proxy_bytes(const std::uint8_t* data, std::size_t n) {
  const std::size_t before = proxy_header_.size();
  proxy_header_.append(reinterpret_cast<const char*>(data), std::min(n, net::kProxyV2MaxBytes - before));
  const net::ProxyHeader h = net::parse_proxy_header(proxy_header_);
  if (h.status == net::ProxyParse::kNeedMore) return n;  // the parser refuses before the bound is passed
  if (h.status == net::ProxyParse::kInvalid) {
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("closed a connection from trusted proxy {}: {}", peer_.to_string(), h.error);
    std::string().swap(proxy_header_);
    begin_drain();
    return n;
  }
  const std::size_t used = h.size - before;
  std::string().swap(proxy_header_);
  awaiting_proxy_header_ = false;
  if (h.source) {  // LOCAL and UNKNOWN name nobody: the balancer's own connection stands for itself
    peer_ = client_ = net::unmapped(*h.source);
    via_proxy_ = set_.settings().proxies.trusted->contains(peer_);  // a proxy behind a proxy: its headers decide
  }
  if (!via_proxy_ && !admit_client()) refuse_client();
  return used;
}

// A request through a trusted proxy: its forwarding header names the client, who is admitted to the per-address
// limits (again, if an earlier request on this connection was another client's). False when refused.
bool Connection::identify_client(const Request& req) {
  const ProxySettings& l = set_.settings().proxies;
  const std::string_view name = l.forwarded_header == ForwardedHeader::kXForwardedFor ? "X-Forwarded-For" : "Forwarded";
  std::string_view values[kMaxForwardedLines];
  std::size_t count = 0;
  bool too_many = false;
  for (auto [it, end] = req.equal_range(name); it != end && !too_many; ++it) {
    if (count == kMaxForwardedLines)
      too_many = true;
    else
      values[count++] = std::string_view(it->value().data(), it->value().size());
  }
  if (too_many) {
    note_bad_forwarding(peer_, "too many forwarding header lines");
    client_ = peer_;
  } else {
    const ForwardedClient c = forwarded_client(peer_, std::span(values, count), l.forwarded_header, *l.trusted);
    if (c.status == ForwardedStatus::kMalformed) note_bad_forwarding(peer_, "unreadable forwarding header");
    client_ = c.address;
  }
  if (admit_client()) return true;
  refuse_client();
  return false;
}

// Takes the client's slot in the per-address limits, unless this connection holds it already.
bool Connection::admit_client() {
  const auto& limits = set_.settings().ip_limits;
  if (!limits || !limits->enabled() || (lease_ && leased_ == client_)) return true;
  lease_.reset();
  auto a = limits->admit(client_, net::IpLimits::Clock::now());
  if (!a.lease) {
    refused_ = a.refused;
    net::count_refusal(a.refused);
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("refused a connection from {} (through proxy): {}", client_.to_string(),
                    net::limit_name(a.refused));
    return false;
  }
  lease_ = std::move(a.lease);
  leased_ = client_;
  return true;
}

// Over a per-address limit: as at accept, 429 and closed; before a TLS handshake no answer can be read: closed.
void Connection::refuse_client() {
  if (tls_ && !tls_->handshake_done()) return begin_drain();
  Response r;
  r.status = 429;
  r.body =
      json_error(refused_ == net::Limit::kConnectionsPerIp ? "too many connections from your address"
                                                           : "connecting too often from your address; retry later");
  r.headers.emplace_back("Retry-After", "1");
  parser_.reset();
  pending_.clear();
  send_response(r, false);
}

}  // namespace peercable::http
