#include "auth/http_hook_client.hpp"

#include <sys/socket.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <optional>
#include <unordered_map>

#include "auth/hook_answer.hpp"

namespace peercable::auth {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

using detail::HookShared;
using Forwarded = std::vector<std::pair<std::string, std::string>>;

// An idle keep-alive connection is reused only this long: app servers close theirs after a few seconds
// (Node 5 s, puma 20 s), and a connection they closed meanwhile costs one retry.
constexpr auto kMaxIdle = std::chrono::seconds(4);
constexpr std::size_t kMaxIdlePerLoop = 8;

class HookRequest;

// What one loop keeps between requests: idle connections to the app and the requests in flight (so that
// identical sign-ins at the same moment, a user's several tabs, share one request). An io_context service,
// so the idle sockets are closed when the loop's io_context goes away and never outlive it.
class HookLoop final : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;

  explicit HookLoop(asio::execution_context& owner) : asio::execution_context::service(owner) {}

  /// An idle connection to `authority` that still looks open, newest first; else nothing.
  std::optional<tcp::socket> take_idle(const std::string& authority, Clock::time_point now) {
    std::erase_if(idle_, [now](const Idle& i) { return now - i.since > kMaxIdle; });
    for (auto i = idle_.size(); i-- > 0;) {
      if (idle_[i].authority != authority) continue;
      tcp::socket s = std::move(idle_[i].socket);
      idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
      if (still_open(s)) return s;
    }
    return std::nullopt;
  }

  /// Keeps `s` for the next request to `authority`, dropping the oldest idle connection when full.
  void put_idle(const std::string& authority, tcp::socket s, Clock::time_point now) {
    if (idle_.size() >= kMaxIdlePerLoop) idle_.erase(idle_.begin());
    idle_.push_back(Idle{authority, std::move(s), now});
  }

  std::shared_ptr<HookRequest> in_flight(const std::string& key) {
    auto it = in_flight_.find(key);
    if (it == in_flight_.end()) return nullptr;
    auto r = it->second.lock();
    if (!r) in_flight_.erase(it);
    return r;
  }
  void add_in_flight(const std::string& key, std::weak_ptr<HookRequest> r) { in_flight_[key] = std::move(r); }
  void remove_in_flight(const std::string& key) { in_flight_.erase(key); }

 private:
  struct Idle {
    std::string authority;
    tcp::socket socket;
    Clock::time_point since;
  };

  // A closed or chattering idle connection is useless: the app either sent its FIN or bytes we never asked for.
  static bool still_open(tcp::socket& s) {
    char c;
    auto n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  void shutdown() override {
    idle_.clear();
    in_flight_.clear();
  }

  std::vector<Idle> idle_;
  std::unordered_map<std::string, std::weak_ptr<HookRequest>> in_flight_;
};

// One exchange with the app: connect (or reuse an idle connection), send, read, interpret, cache, answer
// everyone waiting. Owned by its pending handlers; if the io_context is destroyed first, it is dropped
// with them and nobody is called.
class HookRequest final : public std::enable_shared_from_this<HookRequest> {
 public:
  HookRequest(std::shared_ptr<HookShared> shared, asio::io_context& io, HookLoop& loop, std::string flight_key,
              std::string cache_key, const Forwarded& forwarded, const std::string& remote, Done done)
      : shared_(std::move(shared)),
        io_(io),
        loop_(loop),
        flight_key_(std::move(flight_key)),
        cache_key_(std::move(cache_key)),
        done_(std::move(done)) {
    request_.version(11);
    request_.method(http::verb::get);
    request_.target(shared_->url.target);
    request_.set(http::field::host, shared_->authority);
    request_.set(http::field::accept, "application/json");
    request_.set(http::field::user_agent, "peercable");
    if (!remote.empty() && remote != "?") request_.set("X-Forwarded-For", remote);
    for (const auto& [name, value] : forwarded) request_.insert(name, value);
  }

  void add_waiter(Done done) { waiters_.push_back(std::move(done)); }

  void start() {
    deadline_ = Clock::now() + shared_->timeout;
    shared_->counters.calls.fetch_add(1, std::memory_order_relaxed);
    if (auto s = loop_.take_idle(shared_->authority, Clock::now())) {
      stream_.emplace(std::move(*s));
      reused_ = true;
      do_write();
    } else {
      do_connect();
    }
  }

 private:
  void do_connect() {
    reused_ = false;
    stream_.emplace(io_);
    stream_->expires_at(deadline_);
    stream_->async_connect(shared_->endpoints, [self = shared_from_this()](const error_code& ec, const tcp::endpoint&) {
      self->on_connect(ec);
    });
  }

  void on_connect(const error_code& ec) {
    if (ec == beast::error::timeout) return timed_out();
    if (ec) return failed("cannot connect to " + shared_->authority + ": " + ec.message());
    error_code ignored;
    stream_->socket().set_option(tcp::no_delay(true), ignored);
    do_write();
  }

  void do_write() {
    buffer_.clear();
    parser_.emplace();
    parser_->body_limit(kHookMaxBody);
    stream_->expires_at(deadline_);
    http::async_write(*stream_, request_,
                      [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(const error_code& ec) {
    if (ec == beast::error::timeout) return timed_out();
    if (ec && reused_) return do_connect();  // the idle connection was closed by the app meanwhile
    if (ec) return failed("sending to " + shared_->authority + " failed: " + ec.message());
    stream_->expires_at(deadline_);
    http::async_read(*stream_, buffer_, *parser_,
                     [self = shared_from_this()](const error_code& e, std::size_t) { self->on_read(e); });
  }

  void on_read(const error_code& ec) {
    if (ec == beast::error::timeout) return timed_out();
    if (ec && reused_ && !parser_->got_some()) return do_connect();  // closed by the app while idle
    if (ec == http::error::body_limit) return failed("the app's answer is larger than 16 KiB");
    if (ec) return failed("reading the answer of " + shared_->authority + " failed: " + ec.message());
    auto& res = parser_->get();
    HookAnswer answer = read_hook_answer(res.result_int(), res.body());
    if (res.keep_alive() && !parser_->need_eof() && buffer_.size() == 0) {
      loop_.put_idle(shared_->authority, stream_->release_socket(), Clock::now());
    } else {
      error_code ignored;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    auto& counters = shared_->counters;
    switch (answer.kind) {
      case HookAnswerKind::kAccepted:
        counters.accepted.fetch_add(1, std::memory_order_relaxed);
        return finish(Verdict{Outcome::kAccepted, std::move(answer.identity), {}},
                      hook_answer_ttl(answer.kind, shared_->ttl, shared_->negative_ttl));
      case HookAnswerKind::kRefused:
        counters.refusals.fetch_add(1, std::memory_order_relaxed);
        return finish(Verdict{Outcome::kRefused, {}, std::move(answer.reason)},
                      hook_answer_ttl(answer.kind, shared_->ttl, shared_->negative_ttl));
      case HookAnswerKind::kInvalid: return failed(std::move(answer.reason));
    }
  }

  void timed_out() {
    shared_->counters.timeouts.fetch_add(1, std::memory_order_relaxed);
    auto ms = std::to_string(shared_->timeout.count());
    finish(Verdict{Outcome::kRefused, {}, "no answer from " + shared_->authority + " within " + ms + " ms"},
           std::chrono::seconds(0));
  }

  void failed(std::string reason) {
    shared_->counters.errors.fetch_add(1, std::memory_order_relaxed);
    finish(Verdict{Outcome::kRefused, {}, std::move(reason)}, std::chrono::seconds(0));
  }

  // Caches the verdict for `ttl` (0: errors and timeouts, never cached) and answers everyone waiting.
  void finish(Verdict verdict, std::chrono::seconds ttl) {
    stream_.reset();
    if (ttl.count() > 0) {
      auto now = Clock::now();
      std::lock_guard lock(shared_->mutex);
      shared_->cache.store(cache_key_, verdict, now + ttl, now);
    }
    loop_.remove_in_flight(flight_key_);
    auto waiters = std::move(waiters_);
    auto done = std::move(done_);
    for (auto& w : waiters) w(verdict);
    done(std::move(verdict));
  }

  std::shared_ptr<HookShared> shared_;
  asio::io_context& io_;
  HookLoop& loop_;
  std::string flight_key_;
  std::string cache_key_;
  Done done_;
  std::vector<Done> waiters_;
  http::request<http::empty_body> request_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  Clock::time_point deadline_;
  bool reused_ = false;
};

}  // namespace

void ask_hook_app(const std::shared_ptr<detail::HookShared>& shared, asio::io_context& io, std::string cache_key,
                  const Forwarded& forwarded, const std::string& remote_address, Done done) {
  auto& loop = asio::use_service<HookLoop>(io);
  // The owner's address keeps two authenticators apart; it cannot be reused while a request holds it.
  const void* owner = shared.get();
  std::string flight_key(reinterpret_cast<const char*>(&owner), sizeof owner);
  flight_key += cache_key;
  if (auto same = loop.in_flight(flight_key)) {
    shared->counters.coalesced.fetch_add(1, std::memory_order_relaxed);
    same->add_waiter(std::move(done));
    return;
  }
  auto request = std::make_shared<HookRequest>(shared, io, loop, flight_key, std::move(cache_key), forwarded,
                                               remote_address, std::move(done));
  loop.add_in_flight(flight_key, request);
  request->start();
}

}  // namespace peercable::auth
