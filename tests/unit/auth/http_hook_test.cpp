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

// ---- Pure parts --------------------------------------------------------------------------------------------------

TEST(HookUrl, ParsesHostPortAndTarget) {
  std::string error;
  auto u = parse_hook_url("http://app.internal:3000/cable/auth?x=1", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "app.internal");
  EXPECT_EQ(u->port, 3000);
  EXPECT_EQ(u->target, "/cable/auth?x=1");
  EXPECT_EQ(u->authority(), "app.internal:3000");

  u = parse_hook_url("HTTP://127.0.0.1", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->authority(), "127.0.0.1");

  u = parse_hook_url("http://[::1]:8080?who", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->target, "/?who");
  EXPECT_EQ(u->authority(), "[::1]:8080");
}

TEST(HookUrl, RefusesWhatItCannotUse) {
  for (const char* bad :
       {"https://app/auth", "ftp://app/", "app:3000/auth", "", "http://", "http://:80/", "http://app:0/",
        "http://app:65536/", "http://app:x/", "http://app:/", "http://u:p@app/", "http://app/a#frag", "http://app/a b",
        "http://[::1/", "http://[nope]/", "http://ap p/", "http://[::1]x/"}) {
    std::string error;
    EXPECT_FALSE(parse_hook_url(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  std::string error;
  parse_hook_url("https://app/auth", error);
  EXPECT_NE(error.find("https is not supported"), std::string::npos);
}

TEST(HookHeaders, LowerCasesAndDeduplicates) {
  std::string error;
  auto names = parse_hook_headers(" Cookie, authorization ,X-Tenant,,cookie", error);
  ASSERT_TRUE(names) << error;
  EXPECT_EQ(*names, (std::vector<std::string>{"cookie", "authorization", "x-tenant"}));
}

TEST(HookHeaders, RefusesReservedAndBadNames) {
  for (const char* bad : {"", " , ", "cookie,host", "X-Forwarded-For", "content-length", "coo kie", "a:b"}) {
    std::string error;
    EXPECT_FALSE(parse_hook_headers(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(HookHeaders, ForwardsOnlyTheListedOnesInOrder) {
  Credentials c;
  c.headers = {{"host", "x"},         {"cookie", "sid=1"}, {"x-tenant", "t"},
               {"authorization", ""}, {"cookie", "b=2"},   {"x-evil", "a\r\nX-Injected: 1"}};
  auto f = hook_forwarded_headers(c, {"x-tenant", "cookie", "authorization", "x-evil", "x-missing"});
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(f, (std::vector<P>{{"x-tenant", "t"}, {"cookie", "sid=1"}, {"cookie", "b=2"}}));
  EXPECT_TRUE(hook_forwarded_headers(c, {"x-missing"}).empty());
  // The Cookie header kept on its own is used when the header list lacks it.
  Credentials only_cookie;
  only_cookie.cookie_header = "sid=9";
  EXPECT_EQ(hook_forwarded_headers(only_cookie, {"cookie"}), (std::vector<P>{{"cookie", "sid=9"}}));
}

TEST(HookCacheKey, IsADigestThatSeparatesFields) {
  auto a = hook_cache_key({{"cookie", "sid=secret"}});
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a, hook_cache_key({{"cookie", "sid=secret"}}));
  EXPECT_EQ(a.find("secret"), std::string::npos);
  EXPECT_NE(a, hook_cache_key({{"cookie", "sid=other"}}));
  EXPECT_NE(hook_cache_key({{"a", "bc"}}), hook_cache_key({{"ab", "c"}}));
  EXPECT_NE(hook_cache_key({{"cookie", "x"}}), hook_cache_key({{"authorization", "x"}}));
}

TEST(HookAnswer, AcceptsAnIdentity) {
  auto a = read_hook_answer(200, R"({"id":"42","name":"Alice","role":"admin"})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.id, "42");
  EXPECT_EQ(a.identity.name, "Alice");

  a = read_hook_answer(200, R"({"id":7})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.id, "7");
  EXPECT_EQ(a.identity.name, "7");

  a = read_hook_answer(200, R"({"id":-3,"name":null})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.name, "-3");

  a = read_hook_answer(200, R"({"id":18446744073709551615,"name":""})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.id, "18446744073709551615");

  // 40 characters, 80 bytes: the limit counts characters.
  std::string name;
  for (int i = 0; i < 40; ++i) name += "é";
  a = read_hook_answer(200, R"({"id":"x","name":")" + name + "\"}");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.name, name);

  a = read_hook_answer(200, R"({"id":")" + std::string(128, 'i') + "\"}");
  EXPECT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
}

TEST(HookAnswer, RefusalsAreTheAppsExplicitNo) {
  for (unsigned status : {401u, 403u}) {
    auto a = read_hook_answer(status, R"({"id":"42"})");
    EXPECT_EQ(a.kind, HookAnswerKind::kRefused);
    EXPECT_EQ(a.reason, "the app refused (" + std::to_string(status) + ")");
  }
}

TEST(HookAnswer, EverythingElseIsInvalid) {
  struct Case {
    unsigned status;
    std::string body;
    const char* reason;
  };
  std::string long_name;
  for (int i = 0; i < 41; ++i) long_name += "é";
  const Case cases[] = {
      {500, R"({"id":"42"})", "the app answered 500"},
      {302, "", "the app answered 302"},
      {404, "", "the app answered 404"},
      {200, "", "not JSON"},
      {200, "<html>", "not JSON"},
      {200, R"({"id":"42")", "not JSON"},
      {200, "{\"id\":\"\xff\"}", "not JSON"},
      {200, R"(["42"])", "not a JSON object"},
      {200, R"({"name":"Alice"})", "has no id"},
      {200, R"({"id":1.5})", "neither a string nor an integer"},
      {200, R"({"id":true})", "neither a string nor an integer"},
      {200, R"({"id":""})", "id is empty"},
      {200, R"({"id":")" + std::string(129, 'i') + "\"}", "longer than 128 bytes"},
      {200, R"({"id":"a\nb"})", "id contains control characters"},
      {200, R"({"id":"1","name":5})", "name is not a string"},
      {200, R"({"id":"1","name":"a\u0007"})", "name contains control characters"},
      {200, R"({"id":"1","name":")" + long_name + "\"}", "longer than 40 characters"},
      {200, R"({"id":")" + std::string(17000, 'i') + "\"}", "larger than 16 KiB"},
  };
  for (const auto& c : cases) {
    auto a = read_hook_answer(c.status, c.body);
    EXPECT_EQ(a.kind, HookAnswerKind::kInvalid) << c.body.substr(0, 80);
    EXPECT_NE(a.reason.find(c.reason), std::string::npos) << a.reason;
  }
}

TEST(HookCache, ExpiresAndEvicts) {
  using Clock = HookCache::Clock;
  auto t0 = Clock::time_point{} + 1000s;
  HookCache cache(3);
  Verdict yes{Outcome::kAccepted, {"1", "One"}, {}};
  Verdict no{Outcome::kRefused, {}, "the app refused (401)"};
  cache.store("a", yes, t0 + 30s, t0);
  cache.store("b", no, t0 + 5s, t0);
  ASSERT_TRUE(cache.find("a", t0 + 29s));
  EXPECT_EQ(cache.find("a", t0 + 29s)->identity.name, "One");
  EXPECT_EQ(cache.find("b", t0 + 4s)->outcome, Outcome::kRefused);
  EXPECT_FALSE(cache.find("b", t0 + 5s));  // expired, and dropped
  EXPECT_EQ(cache.size(), 1u);
  // Full: the oldest goes first.
  cache.store("c", yes, t0 + 30s, t0);
  cache.store("d", yes, t0 + 30s, t0);
  cache.store("e", yes, t0 + 30s, t0);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find("a", t0));
  EXPECT_TRUE(cache.find("e", t0));
  // Expired entries at the front make room before live ones are evicted.
  HookCache small(2);
  small.store("x", no, t0 + 5s, t0);
  small.store("y", yes, t0 + 30s, t0);
  small.store("z", yes, t0 + 40s, t0 + 10s);
  EXPECT_TRUE(small.find("y", t0 + 10s));
  EXPECT_TRUE(small.find("z", t0 + 10s));
  // Storing a key again replaces it; capacity 0 stores nothing.
  small.store("y", no, t0 + 15s, t0 + 10s);
  EXPECT_EQ(small.find("y", t0 + 11s)->outcome, Outcome::kRefused);
  HookCache none(0);
  none.store("a", yes, t0 + 30s, t0);
  EXPECT_EQ(none.size(), 0u);
}

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

TEST(HookAnswer, RoomGrants) {
  auto a = read_hook_answer(200, R"({"id":"42","rooms":["team-*"]})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_EQ(a.identity.rooms, std::vector<std::string>{"team-*"});
  a = read_hook_answer(200, R"({"id":"42","rooms":null})");
  ASSERT_EQ(a.kind, HookAnswerKind::kAccepted) << a.reason;
  EXPECT_TRUE(a.identity.rooms.empty());
  a = read_hook_answer(200, R"({"id":"42","rooms":"team"})");
  EXPECT_EQ(a.kind, HookAnswerKind::kInvalid);
}
