#include "net/listener.hpp"

#include <sys/socket.h>

#include <stdexcept>

namespace peercable::net {

Listener::Listener(Loop& loop, const std::string& host, unsigned short port, OnAccept on_accept)
    : loop_(loop), acceptor_(loop.io()), retry_(loop.io()), on_accept_(std::move(on_accept)) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("invalid --host address: " + host);
  asio::ip::tcp::endpoint ep(addr, port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  int one = 1;
  ::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  acceptor_.bind(ep, ec);
  if (ec) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  acceptor_.listen(4096, ec);
  if (ec) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
}

unsigned short Listener::port() const {
  return acceptor_.local_endpoint().port();
}

void Listener::start() {
  do_accept();
}

void Listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
}

void Listener::do_accept() {
  acceptor_.async_accept(loop_.io(), [this](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      on_accept_(std::move(s));
      return do_accept();
    }
    // EMFILE and friends: back off briefly instead of spinning; they pass once connections close.
    retry_.expires_after(std::chrono::milliseconds(50));
    retry_.async_wait([this](const boost::system::error_code& e) {
      if (!e && acceptor_.is_open()) do_accept();
    });
  });
}

}  // namespace peercable::net
