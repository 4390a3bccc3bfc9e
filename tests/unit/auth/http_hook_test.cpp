#include "auth/http_hook.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace peercable::auth;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// ---- Against a scripted app on the same io_context ---------------------------------------------------------------

namespace {

// What the scripted app answers to one request (the raw request text is given).
struct Reply {
  std::string response;  // the raw HTTP response; empty: never answer
  std::chrono::milliseconds delay{0};
  bool close = false;  // close the connection after answering
  bool drop = false;   // close the connection without answering
};

std::string http_response(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class ScriptedApp {
 public:
  // `script` is given the request head and how many requests came before it on its connection.
  explicit ScriptedApp(asio::io_context& io, std::function<Reply(const std::string&, int)> script)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), script_(std::move(script)) {
    accept();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/auth"; }

  std::vector<std::string> requests;
  int connections = 0;

 private:
  struct Conn {
    explicit Conn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
    tcp::socket socket;
    asio::streambuf in;
    asio::steady_timer timer;
    std::string out;
    int served = 0;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ++connections;
      auto c = std::make_shared<Conn>(std::move(s));
      read(c);
      accept();
    });
  }

  void read(const std::shared_ptr<Conn>& c) {
    asio::async_read_until(c->socket, c->in, "\r\n\r\n", [this, c](boost::system::error_code ec, std::size_t n) {
      if (ec) return;
      std::string head(asio::buffers_begin(c->in.data()), asio::buffers_begin(c->in.data()) + static_cast<long>(n));
      c->in.consume(n);
      requests.push_back(head);
      Reply r = script_(head, c->served++);
      if (r.drop) {
        boost::system::error_code ignored;
        c->socket.close(ignored);
        return;
      }
      if (r.response.empty()) {  // never answers; the connection stays open
        parked_.push_back(c);
        return;
      }
      c->out = r.response;
      c->timer.expires_after(r.delay);
      c->timer.async_wait([this, c, close = r.close](boost::system::error_code) {
        asio::async_write(c->socket, asio::buffer(c->out), [this, c, close](boost::system::error_code e, std::size_t) {
          if (e) return;
          if (close) {
            boost::system::error_code ignored;
            c->socket.shutdown(tcp::socket::shutdown_both, ignored);
            c->socket.close(ignored);
            return;
          }
          read(c);
        });
      });
    });
  }

  tcp::acceptor acceptor_;
  std::function<Reply(const std::string&, int)> script_;
  std::vector<std::shared_ptr<Conn>> parked_;
};

Credentials with_cookie(std::string cookie) {
  Credentials c;
  c.headers = {{"host", "peercable"}, {"cookie", std::move(cookie)}, {"user-agent", "test"}, {"x-secret", "no"}};
  c.remote_address = "203.0.113.9";
  return c;
}

// Runs `io` until `verdicts` has `n` entries (or 5 s pass).
void run_until(asio::io_context& io, const std::vector<Verdict>& verdicts, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (verdicts.size() < n && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
}

Reply by_cookie(const std::string& req, int = 0) {
  if (req.find("sid=good") != std::string::npos) return {http_response(200, R"({"id":"7","name":"Alice"})")};
  if (req.find("sid=bad") != std::string::npos) return {http_response(401, "{}")};
  if (req.find("sid=slow") != std::string::npos) return {http_response(200, R"({"id":"8"})"), 500ms};
  if (req.find("sid=never") != std::string::npos) return {};
  return {http_response(500, "oops")};
}

HttpHookOptions options_for(const ScriptedApp& app) {
  HttpHookOptions o;
  o.url = app.url();
  o.timeout = 200ms;
  return o;
}

}  // namespace

TEST(HttpHookAuthenticator, AsksTheAppAndCachesItsAnswers) {
  asio::io_context io;
  ScriptedApp app(io, by_cookie);
  HttpHookAuthenticator hook(options_for(app));
  std::vector<Verdict> got;
  auto collect = [&got](Verdict v) { got.push_back(std::move(v)); };

  hook.authenticate_on(io, with_cookie("sid=good"), collect);
  run_until(io, got, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].outcome, Outcome::kAccepted) << got[0].reason;
  EXPECT_EQ(got[0].identity.id, "7");
  EXPECT_EQ(got[0].identity.name, "Alice");
  ASSERT_EQ(app.requests.size(), 1u);
  const std::string& req = app.requests[0];
  EXPECT_EQ(req.rfind("GET /auth HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("cookie: sid=good\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("X-Forwarded-For: 203.0.113.9\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("Accept: application/json\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("x-secret"), std::string::npos) << req;
  EXPECT_EQ(req.find("test"), std::string::npos) << "the client's User-Agent is not forwarded: " << req;

  // Cached: the app is not asked again, and the answer comes before authenticate returns.
  hook.authenticate_on(io, with_cookie("sid=good"), collect);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].identity.id, "7");
  EXPECT_EQ(app.requests.size(), 1u);

  // A refusal is cached too.
  hook.authenticate_on(io, with_cookie("sid=bad"), collect);
  run_until(io, got, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].outcome, Outcome::kRefused);
  EXPECT_EQ(got[2].reason, "the app refused (401)");
  hook.authenticate_on(io, with_cookie("sid=bad"), collect);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[3].reason, "the app refused (401) (cached)");

  // An error is not.
  for (int i = 0; i < 2; ++i) {
    hook.authenticate_on(io, with_cookie("sid=broken"), collect);
    run_until(io, got, 5 + static_cast<std::size_t>(i));
  }
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[5].reason, "the app answered 500");
  EXPECT_EQ(app.requests.size(), 4u);
  // Every request went over the one kept-alive connection.
  EXPECT_EQ(app.connections, 1);

  const auto& c = hook.counters();
  EXPECT_EQ(c.calls.load(), 4u);
  EXPECT_EQ(c.cache_hits.load(), 2u);
  EXPECT_EQ(c.accepted.load(), 1u);
  EXPECT_EQ(c.refusals.load(), 1u);
  EXPECT_EQ(c.errors.load(), 2u);
  EXPECT_EQ(c.timeouts.load(), 0u);
  EXPECT_NE(hook.metrics_text().find("peercable_auth_http_cache_hits_total 2\n"), std::string::npos);
}

TEST(HttpHookAuthenticator, AbsentWithoutForwardedHeadersAndNoCall) {
  asio::io_context io;
  ScriptedApp app(io, by_cookie);
  HttpHookAuthenticator hook(options_for(app));
  Credentials c;
  c.headers = {{"host", "x"}, {"x-other", "1"}};
  std::optional<Verdict> got;
  hook.authenticate_on(io, c, [&](Verdict v) { got = std::move(v); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->outcome, Outcome::kAbsent);
  io.run_for(20ms);
  EXPECT_TRUE(app.requests.empty());
}

TEST(HttpHookAuthenticator, TimeoutsAreRefusedAndNotCached) {
  asio::io_context io;
  ScriptedApp app(io, by_cookie);
  HttpHookAuthenticator hook(options_for(app));
  std::vector<Verdict> got;
  auto start = std::chrono::steady_clock::now();
  hook.authenticate_on(io, with_cookie("sid=slow"), [&](Verdict v) { got.push_back(std::move(v)); });
  run_until(io, got, 1);
  ASSERT_EQ(got.size(), 1u);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(got[0].outcome, Outcome::kRefused);
  EXPECT_NE(got[0].reason.find("within 200 ms"), std::string::npos) << got[0].reason;
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 450ms);
  hook.authenticate_on(io, with_cookie("sid=slow"), [&](Verdict v) { got.push_back(std::move(v)); });
  EXPECT_EQ(got.size(), 1u) << "a timeout must not be cached";
  run_until(io, got, 2);
  EXPECT_EQ(app.requests.size(), 2u);
  EXPECT_EQ(hook.counters().timeouts.load(), 2u);
}

TEST(HttpHookAuthenticator, ConnectionRefusedIsNamed) {
  asio::io_context io;
  unsigned short port;
  {
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  HttpHookOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(port) + "/auth";
  HttpHookAuthenticator hook(o);
  std::vector<Verdict> got;
  hook.authenticate_on(io, with_cookie("sid=good"), [&](Verdict v) { got.push_back(std::move(v)); });
  run_until(io, got, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].outcome, Outcome::kRefused);
  EXPECT_NE(got[0].reason.find("cannot connect to 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << got[0].reason;
  EXPECT_EQ(got[0].reason.find("sid="), std::string::npos);
  EXPECT_EQ(hook.counters().errors.load(), 1u);
}

TEST(HttpHookAuthenticator, IdenticalSignInsShareOneRequest) {
  asio::io_context io;
  ScriptedApp app(io, [](const std::string& req, int) {
    Reply r = by_cookie(req);
    r.delay = 50ms;
    return r;
  });
  HttpHookAuthenticator hook(options_for(app));
  std::vector<Verdict> got;
  for (int i = 0; i < 3; ++i)
    hook.authenticate_on(io, with_cookie("sid=good"), [&](Verdict v) { got.push_back(std::move(v)); });
  run_until(io, got, 3);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& v : got) EXPECT_EQ(v.identity.id, "7");
  EXPECT_EQ(app.requests.size(), 1u);
  EXPECT_EQ(hook.counters().coalesced.load(), 2u);
}

TEST(HttpHookAuthenticator, AnIdleConnectionTheAppClosedIsNotReused) {
  asio::io_context io;
  ScriptedApp app(io, [](const std::string& req, int) {
    Reply r = by_cookie(req);
    r.close = true;  // answers as if keeping the connection alive, then closes it
    return r;
  });
  HttpHookOptions o = options_for(app);
  o.cache_ttl = 0s;
  HttpHookAuthenticator hook(o);
  std::vector<Verdict> got;
  for (std::size_t i = 0; i < 3; ++i) {
    hook.authenticate_on(io, with_cookie("sid=good"), [&](Verdict v) { got.push_back(std::move(v)); });
    run_until(io, got, i + 1);
  }
  ASSERT_EQ(got.size(), 3u);
  for (const auto& v : got) EXPECT_EQ(v.outcome, Outcome::kAccepted) << v.reason;
  EXPECT_EQ(app.connections, 3);
  EXPECT_EQ(hook.counters().errors.load(), 0u);
}

TEST(HttpHookAuthenticator, AReusedConnectionThatDiesCostsOneRetryNotAnError) {
  asio::io_context io;
  // The app closes a kept-alive connection just as the next request arrives on it.
  ScriptedApp app(io, [](const std::string& req, int served) {
    Reply r = by_cookie(req);
    r.drop = served > 0;
    return r;
  });
  HttpHookOptions o = options_for(app);
  o.cache_ttl = 0s;
  HttpHookAuthenticator hook(o);
  std::vector<Verdict> got;
  for (std::size_t i = 0; i < 2; ++i) {
    hook.authenticate_on(io, with_cookie("sid=good"), [&](Verdict v) { got.push_back(std::move(v)); });
    run_until(io, got, i + 1);
  }
  ASSERT_EQ(got.size(), 2u);
  for (const auto& v : got) EXPECT_EQ(v.outcome, Outcome::kAccepted) << v.reason;
  EXPECT_EQ(app.requests.size(), 3u);
  EXPECT_EQ(app.connections, 2);
  EXPECT_EQ(hook.counters().calls.load(), 2u);
  EXPECT_EQ(hook.counters().errors.load(), 0u);
}

TEST(HttpHookAuthenticator, RequestsInFlightDieWithTheirLoop) {
  std::vector<Verdict> got;
  std::unique_ptr<HttpHookAuthenticator> hook;
  {
    asio::io_context io;
    ScriptedApp app(io, by_cookie);
    HttpHookOptions o = options_for(app);
    o.timeout = 5000ms;
    hook = std::make_unique<HttpHookAuthenticator>(o);
    hook->authenticate_on(io, with_cookie("sid=never"), [&](Verdict v) { got.push_back(std::move(v)); });
    hook->authenticate_on(io, with_cookie("sid=never"), [&](Verdict v) { got.push_back(std::move(v)); });
    while (app.requests.empty()) io.run_one_for(100ms);
    // The authenticator goes first, then the loop with the request still waiting for the app.
    hook.reset();
    io.run_for(20ms);
  }
  EXPECT_TRUE(got.empty());  // nobody is called; ASan checks that nothing leaks or is touched after free
}

TEST(HttpHookAuthenticator, BadOptionsAreStartupErrors) {
  auto message = [](const HttpHookOptions& o) {
    try {
      HttpHookAuthenticator hook(o);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  HttpHookOptions o;
  o.url = "https://app/auth";
  EXPECT_EQ(message(o).rfind("--auth-url: https is not supported", 0), 0u);
  o.url = "http://127.0.0.1/auth";
  o.headers = "host";
  EXPECT_EQ(message(o).rfind("--auth-headers: host is set by peercable", 0), 0u);
  o.headers = "cookie";
  o.url = "http://no-such-host.invalid/auth";
  EXPECT_EQ(message(o).rfind("--auth-url: cannot resolve no-such-host.invalid", 0), 0u);
}
