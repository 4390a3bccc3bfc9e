#include "auth/http_hook.hpp"

#include <openssl/evp.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <mutex>
#include <stdexcept>

#include "net/loop.hpp"

namespace peercable::auth {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

// ---- Configuration -----------------------------------------------------------------------------------------------

namespace {

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Headers peercable writes itself, or that would change how the request is framed.
constexpr std::string_view kReservedHeaders[] = {
    "host",       "accept",  "user-agent", "x-forwarded-for", "content-length", "transfer-encoding", "connection",
    "keep-alive", "upgrade", "te",         "trailer",         "expect"};

}  // namespace

std::string HookUrl::authority() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 80) out += ":" + std::to_string(port);
  return out;
}

std::optional<HookUrl> parse_hook_url(std::string_view url, std::string& error) {
  auto scheme_end = url.find("://");
  std::string scheme = scheme_end == std::string_view::npos ? std::string() : lower(url.substr(0, scheme_end));
  if (scheme == "https") {
    error = "https is not supported: give a plain http:// URL to the app on a private network or localhost";
    return std::nullopt;
  }
  if (scheme != "http") {
    error = "must look like http://host:port/path";
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos) {
    error = "must not have a #fragment";
    return std::nullopt;
  }
  auto authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    error = "must not contain user:password@ (peercable sends no credentials of its own)";
    return std::nullopt;
  }
  HookUrl out;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "the IPv6 host lacks its closing ]";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    error_code ec;
    asio::ip::make_address_v6(out.host, ec);
    if (ec) {
      error = "the host is not a valid IPv6 address";
      return std::nullopt;
    }
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "only :port may follow the IPv6 host";
        return std::nullopt;
      }
      has_port = true;
      port = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
    }
    if (!std::all_of(out.host.begin(), out.host.end(), is_host_char)) {
      error = "the host may only have letters, digits, '-', '.' and '_'";
      return std::nullopt;
    }
  }
  if (out.host.empty()) {
    error = "the host is missing";
    return std::nullopt;
  }
  if (has_port) {
    unsigned value = 0;
    bool ok = !port.empty() && port.size() <= 5;
    for (char c : port) {
      if (c < '0' || c > '9') ok = false;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || value == 0 || value > 65535) {
      error = "the port must be a number from 1 to 65535";
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      error = "the path must be ASCII without spaces (percent-encode the rest)";
      return std::nullopt;
    }
  }
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  return out;
}

std::optional<std::vector<std::string>> parse_hook_headers(std::string_view list, std::string& error) {
  std::vector<std::string> names;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) continue;
    if (!std::all_of(item.begin(), item.end(), is_token_char)) {
      error = "\"" + std::string(item) + "\" is not a header name";
      return std::nullopt;
    }
    std::string name = lower(item);
    if (std::find(std::begin(kReservedHeaders), std::end(kReservedHeaders), name) != std::end(kReservedHeaders)) {
      error = name + " is set by peercable itself and cannot be forwarded";
      return std::nullopt;
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  }
  if (names.empty()) {
    error = "name at least one header to forward (default: cookie,authorization)";
    return std::nullopt;
  }
  return names;
}

std::vector<std::pair<std::string, std::string>> hook_forwarded_headers(const Credentials& credentials,
                                                                        const std::vector<std::string>& names) {
  auto usable = [](std::string_view v) {
    return !v.empty() && v.find_first_of(std::string_view("\r\n\0", 3)) == v.npos;
  };
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& name : names) {
    bool found = false;
    for (const auto& [k, v] : credentials.headers) {
      if (k != name) continue;
      found = true;
      if (usable(v)) out.emplace_back(name, v);
    }
    // The Cookie header is also kept on its own; use it when the caller did not list every header.
    if (!found && name == "cookie" && usable(credentials.cookie_header))
      out.emplace_back(name, credentials.cookie_header);
  }
  return out;
}

std::string hook_cache_key(const std::vector<std::pair<std::string, std::string>>& forwarded) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  // Length prefixes keep ("a", "bc") and ("ab", "c") apart.
  auto add = [ctx](std::string_view s) {
    unsigned char len[4] = {static_cast<unsigned char>(s.size() >> 24), static_cast<unsigned char>(s.size() >> 16),
                            static_cast<unsigned char>(s.size() >> 8), static_cast<unsigned char>(s.size())};
    EVP_DigestUpdate(ctx, len, sizeof len);
    EVP_DigestUpdate(ctx, s.data(), s.size());
  };
  for (const auto& [name, value] : forwarded) {
    add(name);
    add(value);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx, digest, &size);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

// ---- The app's answer --------------------------------------------------------------------------------------------

namespace {

HookAnswer invalid(std::string reason) {
  HookAnswer a;
  a.kind = HookAnswerKind::kInvalid;
  a.reason = std::move(reason);
  return a;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

}  // namespace

HookAnswer read_hook_answer(unsigned status, std::string_view body) {
  if (status == 401 || status == 403) {
    HookAnswer a;
    a.kind = HookAnswerKind::kRefused;
    a.reason = "the app refused (" + std::to_string(status) + ")";
    return a;
  }
  if (status != 200) return invalid("the app answered " + std::to_string(status));
  if (body.size() > kHookMaxBody) return invalid("the app's answer is larger than 16 KiB");
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body.data(), body.size()).get(doc))
    return invalid(std::string("the app's answer is not JSON (") + simdjson::error_message(err) + ")");
  if (!doc.is_object()) return invalid("the app's answer is not a JSON object");
  Identity who;
  simdjson::dom::element id;
  if (doc["id"].get(id)) return invalid("the app's answer has no id");
  std::string_view id_text;
  std::int64_t id_signed = 0;
  std::uint64_t id_unsigned = 0;
  if (id.get(id_text) == simdjson::SUCCESS) {
    who.id = std::string(id_text);
  } else if (id.get(id_signed) == simdjson::SUCCESS) {
    who.id = std::to_string(id_signed);
  } else if (id.get(id_unsigned) == simdjson::SUCCESS) {
    who.id = std::to_string(id_unsigned);
  } else {
    return invalid("the app's id is neither a string nor an integer");
  }
  if (who.id.empty()) return invalid("the app's id is empty");
  if (who.id.size() > kHookMaxIdBytes) return invalid("the app's id is longer than 128 bytes");
  if (has_control(who.id)) return invalid("the app's id contains control characters");
  simdjson::dom::element name;
  if (doc["name"].get(name) == simdjson::SUCCESS && !name.is_null()) {
    std::string_view text;
    if (name.get(text)) return invalid("the app's name is not a string");
    if (has_control(text)) return invalid("the app's name contains control characters");
    // simdjson has checked the UTF-8: every byte that is not a continuation byte starts a character.
    auto chars = std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; });
    if (static_cast<std::size_t>(chars) > kHookMaxNameChars)
      return invalid("the app's name is longer than 40 characters");
    who.name = std::string(text);
  }
  if (who.name.empty()) who.name = who.id;
  simdjson::dom::element rooms;
  if (doc["rooms"].get(rooms) == simdjson::SUCCESS && !rooms.is_null() && !read_room_patterns(rooms, who.rooms))
    return invalid("the app's rooms is not a list of at most 64 room patterns of 1 to 128 bytes");
  HookAnswer a;
  a.kind = HookAnswerKind::kAccepted;
  a.identity = std::move(who);
  return a;
}

// ---- The cache ---------------------------------------------------------------------------------------------------

std::optional<Verdict> HookCache::find(const std::string& key, Clock::time_point now) {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (it->second->expires <= now) {
    order_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  return it->second->verdict;
}

void HookCache::store(const std::string& key, Verdict verdict, Clock::time_point expires, Clock::time_point now) {
  if (capacity_ == 0 || expires <= now) return;
  if (auto it = index_.find(key); it != index_.end()) {
    order_.erase(it->second);
    index_.erase(it);
  }
  // Insertion order is close to expiry order (two TTLs only), so expired entries gather at the front.
  while (!order_.empty() && (order_.front().expires <= now || index_.size() >= capacity_)) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  order_.push_back(Entry{key, std::move(verdict), expires});
  index_.emplace(key, std::prev(order_.end()));
}

// ---- Shared state and the per-loop part --------------------------------------------------------------------------

namespace detail {

struct HookShared {
  HookUrl url;
  std::string authority;  // Host header, reasons in the log, and the key of idle connections
  std::vector<std::string> names;
  std::vector<tcp::endpoint> endpoints;
  std::chrono::milliseconds timeout{};
  std::chrono::seconds ttl{};
  std::chrono::seconds negative_ttl{};
  HookCounters counters;
  std::mutex mutex;
  HookCache cache{0};  // guarded by mutex
};

}  // namespace detail

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
        return finish(Verdict{Outcome::kAccepted, std::move(answer.identity), {}}, shared_->ttl);
      case HookAnswerKind::kRefused:
        counters.refusals.fetch_add(1, std::memory_order_relaxed);
        return finish(Verdict{Outcome::kRefused, {}, std::move(answer.reason)}, shared_->negative_ttl);
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

// ---- The authenticator -------------------------------------------------------------------------------------------

HttpHookAuthenticator::HttpHookAuthenticator(const HttpHookOptions& options) : shared_(std::make_shared<HookShared>()) {
  std::string error;
  auto url = parse_hook_url(options.url, error);
  if (!url) throw std::runtime_error("--auth-url: " + error);
  auto names = parse_hook_headers(options.headers, error);
  if (!names) throw std::runtime_error("--auth-headers: " + error);
  if (options.timeout.count() <= 0) throw std::runtime_error("--auth-timeout: must be at least 1 ms");
  // Resolved once, here, so that no loop ever waits for DNS.
  asio::io_context io;
  tcp::resolver resolver(io);
  error_code ec;
  auto results = resolver.resolve(url->host, std::to_string(url->port), tcp::resolver::numeric_service, ec);
  if (ec || results.empty())
    throw std::runtime_error("--auth-url: cannot resolve " + url->host + ": " +
                             (ec ? ec.message() : std::string("no address")));
  for (const auto& r : results) shared_->endpoints.push_back(r.endpoint());
  shared_->authority = url->authority();
  shared_->url = std::move(*url);
  shared_->names = std::move(*names);
  shared_->timeout = options.timeout;
  shared_->ttl = options.cache_ttl;
  shared_->negative_ttl = options.negative_cache_ttl;
  shared_->cache = HookCache(options.cache_capacity);
  std::string forwarded;
  for (const auto& n : shared_->names) forwarded += (forwarded.empty() ? "" : ",") + n;
  spdlog::info("auth hook: http://{}{} (forwarding {}; timeout {} ms, cache {} s, refusals {} s)", shared_->authority,
               shared_->url.target, forwarded, options.timeout.count(), options.cache_ttl.count(),
               options.negative_cache_ttl.count());
}

HttpHookAuthenticator::~HttpHookAuthenticator() = default;

void HttpHookAuthenticator::authenticate(const Credentials& credentials, Done done) {
  auto* loop = net::Loop::current();
  if (!loop) {
    done(Verdict{Outcome::kRefused, {}, "the http authenticator was called off an event loop"});
    return;
  }
  authenticate_on(loop->io(), credentials, std::move(done));
}

void HttpHookAuthenticator::authenticate_on(asio::io_context& io, const Credentials& credentials, Done done) {
  Forwarded forwarded = hook_forwarded_headers(credentials, shared_->names);
  if (forwarded.empty()) {
    done(Verdict{Outcome::kAbsent, {}, "none of the forwarded headers was sent"});
    return;
  }
  std::string key = hook_cache_key(forwarded);
  std::optional<Verdict> cached;
  {
    std::lock_guard lock(shared_->mutex);
    cached = shared_->cache.find(key, Clock::now());
  }
  if (cached) {
    shared_->counters.cache_hits.fetch_add(1, std::memory_order_relaxed);
    if (cached->outcome == Outcome::kRefused) cached->reason += " (cached)";
    done(std::move(*cached));
    return;
  }
  auto& loop = asio::use_service<HookLoop>(io);
  // The owner's address keeps two authenticators apart; it cannot be reused while a request holds it.
  const void* owner = shared_.get();
  std::string flight_key(reinterpret_cast<const char*>(&owner), sizeof owner);
  flight_key += key;
  if (auto same = loop.in_flight(flight_key)) {
    shared_->counters.coalesced.fetch_add(1, std::memory_order_relaxed);
    same->add_waiter(std::move(done));
    return;
  }
  auto request = std::make_shared<HookRequest>(shared_, io, loop, flight_key, std::move(key), forwarded,
                                               credentials.remote_address, std::move(done));
  loop.add_in_flight(flight_key, request);
  request->start();
}

const HookCounters& HttpHookAuthenticator::counters() const noexcept {
  return shared_->counters;
}

std::string HttpHookAuthenticator::metrics_text() const {
  const auto& c = shared_->counters;
  const std::pair<const char*, const std::atomic<std::uint64_t>*> rows[] = {
      {"calls", &c.calls},       {"cache_hits", &c.cache_hits}, {"coalesced", &c.coalesced}, {"accepted", &c.accepted},
      {"refusals", &c.refusals}, {"errors", &c.errors},         {"timeouts", &c.timeouts},
  };
  std::string out;
  for (const auto& [name, value] : rows) {
    std::string metric = std::string("peercable_auth_http_") + name + "_total";
    out.append("# TYPE ").append(metric).append(" counter\n").append(metric).append(" ");
    out.append(std::to_string(value->load())).append("\n");
  }
  return out;
}

std::unique_ptr<Authenticator> make_http_hook_authenticator(const HttpHookOptions& options) {
  return std::make_unique<HttpHookAuthenticator>(options);
}

}  // namespace peercable::auth
