#include "http/connection.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "http/upgrade_request.hpp"

using namespace peercable;
namespace asio = boost::asio;

namespace {

// A session that closes its own connection from inside its message handler and then goes on using itself,
// as CableSession does when a client goes over its command rate.
class ClosingSession : public http::WsSession {
 public:
  ClosingSession(http::Connection& conn, int& destroyed) : conn_(conn), destroyed_(destroyed) {}
  ~ClosingSession() override { ++destroyed_; }
  void on_open() override {}
  void on_message(ws::Opcode, std::string_view) override {
    conn_.close(ws::close_code::kPolicyViolation, "bye");
    // Still on the stack: before, leave_websocket had destroyed us here (ASan: heap-use-after-free).
    handled_ += 1;
    seen_destroyed_ = destroyed_;
  }
  void on_closed() override { closed_ = true; }
  int handled_ = 0;
  int seen_destroyed_ = -1;
  bool closed_ = false;

 private:
  http::Connection& conn_;
  int& destroyed_;
};

class UpgradingRouter : public http::Router {
 public:
  explicit UpgradingRouter(int& destroyed) : destroyed_(destroyed) {}
  http::RouteResult route(http::Connection& conn, http::Request& req) override {
    http::RouteResult r;
    auto hs = ws::accept_upgrade(http::upgrade_request(req), nullptr, false);
    r.upgrade = std::move(hs.accept);
    r.session = std::make_unique<ClosingSession>(conn, destroyed_);
    return r;
  }
  int& destroyed_;
};

}  // namespace

TEST(ConnectionLifetime, SessionClosingItsConnectionOutlivesItsHandler) {
  net::Loop loop(0);
  int destroyed = 0;
  UpgradingRouter router(destroyed);
  http::ConnectionSettings settings;
  settings.limits.tcp_keepalive = std::chrono::seconds(0);
  http::ConnectionSet set(loop, router, settings);
  asio::ip::tcp::acceptor acceptor(loop.io(), {asio::ip::make_address("127.0.0.1"), 0});
  asio::io_context client_io;
  asio::ip::tcp::socket client(client_io);
  client.connect(acceptor.local_endpoint());
  set.adopt(acceptor.accept());
  // The upgrade and, in the same write, one masked text frame "hi".
  std::string bytes =
      "GET /cable HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  bytes += std::string("\x81\x82\x01\x02\x03\x04", 6);
  bytes += static_cast<char>('h' ^ 0x01);
  bytes += static_cast<char>('i' ^ 0x02);
  asio::write(client, asio::buffer(bytes));
  for (int i = 0; i < 50 && destroyed == 0; ++i) loop.io().run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(destroyed, 1);  // destroyed, but after the handler
  // The client got the 101 and our close frame (1008).
  std::string got(4096, '\0');
  client.non_blocking(true);
  boost::system::error_code ec;
  std::size_t n = client.read_some(asio::buffer(got), ec);
  got.resize(n);
  EXPECT_NE(got.find("101 Switching Protocols"), std::string::npos);
  EXPECT_NE(got.find(std::string("\x88\x05\x03\xf0", 4)), std::string::npos);
  set.shutdown();
  loop.io().run_for(std::chrono::milliseconds(50));
}
