#pragma once
// A listening socket per loop (SO_REUSEPORT), so the kernel spreads new connections across loops.
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <string>

#include "net/loop.hpp"

namespace peercable::net {

class Listener {
 public:
  using OnAccept = std::function<void(asio::ip::tcp::socket)>;
  /// Binds and listens on host:port on `loop`; throws std::system_error with a clear message on failure.
  Listener(Loop& loop, const std::string& host, unsigned short port, OnAccept on_accept);
  void start();
  /// Stops accepting (on the loop's thread).
  void stop();
  unsigned short port() const;

 private:
  void do_accept();
  Loop& loop_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  OnAccept on_accept_;
};

}  // namespace peercable::net
