#include "http/admission.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

namespace peercable::http {

void Admission::admit(ConnectionSet& set, boost::asio::ip::tcp::socket socket) const {
  std::unique_ptr<net::IpLimits::Lease> lease;
  if (limits_->enabled()) {
    boost::system::error_code ec;
    auto peer = socket.remote_endpoint(ec);
    if (ec) return;  // gone already
    // A trusted proxy's connection is admitted once its client is known (PROXY header, forwarding header).
    if (trusted_->contains(peer.address())) return set.adopt(std::move(socket));
    auto admission = limits_->admit(peer.address(), net::IpLimits::Clock::now());
    if (!admission.lease) {
      net::count_refusal(admission.refused);
      spdlog::debug("refused a connection from {}: {}", peer.address().to_string(), net::limit_name(admission.refused));
      if (tls_) {  // no HTTP can be spoken before a handshake: the refusal is a close
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

// The request is read first (whatever has arrived), so the close is not a reset that would discard the answer
// before the client reads it.
void refuse(boost::asio::ip::tcp::socket& socket, unsigned status, std::string_view message) {
  Response r;
  r.status = status;
  r.body = json_error(message);
  r.headers.emplace_back("Retry-After", "1");
  r.close = true;
  std::string wire = serialize_response(r, false);
  const int fd = socket.native_handle();
  [[maybe_unused]] auto sent = ::send(fd, wire.data(), wire.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  char scratch[4096];
  for (int i = 0; i < 16 && ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; ++i) {
  }
  boost::system::error_code ec;
  socket.close(ec);
}

}  // namespace peercable::http
