#pragma once
// The door of every listener: an accepted socket joins its loop's connections, or is refused at once when
// its address is over a per-address limit (--max-connections-per-ip, --max-new-connections-per-ip).
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string_view>

#include "http/connection.hpp"
#include "net/ip_limits.hpp"
#include "net/trusted_proxies.hpp"

namespace peercable::http {

class Admission {
 public:
  /// `tls`: the listener speaks TLS, so no HTTP answer can be given before a handshake.
  Admission(std::shared_ptr<net::IpLimits> limits, std::shared_ptr<const net::TrustedProxies> trusted, bool tls)
      : limits_(std::move(limits)), trusted_(std::move(trusted)), tls_(tls) {}

  /// Hands `socket` to `set`, or refuses it (429, or a bare close over TLS) and counts the refusal.
  void admit(ConnectionSet& set, boost::asio::ip::tcp::socket socket) const;

 private:
  std::shared_ptr<net::IpLimits> limits_;
  std::shared_ptr<const net::TrustedProxies> trusted_;
  bool tls_;
};

/// Answers a connection refused at accept with `status` and closes it, without waiting: the answer is sent
/// if the socket takes it at once.
void refuse(boost::asio::ip::tcp::socket& socket, unsigned status, std::string_view message);

}  // namespace peercable::http
