#pragma once
// Sign-in through the app itself: the upgrade request's cookies and chosen headers are forwarded to an HTTP
// route of the app (a Rails controller action, say), whose JSON answer names the user (docs/auth-hook.md).
// The requests run on the calling loop's io_context; answers are cached briefly, keyed by a digest of what
// was forwarded, never by the cookie itself.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "auth/authenticator.hpp"

namespace peercable::auth {

namespace detail {
struct HookShared;  // the options, cache and counters, shared with the requests in flight
}  // namespace detail

// ---- Pure parts: configuration, the app's answer, the cache ------------------------------------------------------

/// Where the app answers: http://host[:port][/path[?query]].
struct HookUrl {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without its brackets
  std::uint16_t port = 80;
  std::string target = "/";  // path and query, as they go on the request line

  /// The Host header: the host (bracketed if IPv6), with ":port" unless it is 80.
  std::string authority() const;
};

/// Parses an --auth-url. On a bad one returns nothing and sets `error` to a sentence naming the problem.
std::optional<HookUrl> parse_hook_url(std::string_view url, std::string& error);

/// Parses --auth-headers (comma separated, any case) into distinct lower-case names. Refuses an empty list,
/// a name that is not an HTTP token, and the headers peercable sets itself (host, accept, x-forwarded-for…).
std::optional<std::vector<std::string>> parse_hook_headers(std::string_view list, std::string& error);

/// The (name, value) pairs of `credentials` to forward, in the order of `names`; a header sent several times
/// is forwarded each time. Empty values and values that could break the request (CR, LF, NUL) are left out.
std::vector<std::pair<std::string, std::string>> hook_forwarded_headers(const Credentials& credentials,
                                                                        const std::vector<std::string>& names);

/// The cache key of what is forwarded: SHA-256 over the names and values (length-prefixed), 32 raw bytes.
/// So the cache holds digests, never a cookie.
std::string hook_cache_key(const std::vector<std::pair<std::string, std::string>>& forwarded);

enum class HookAnswerKind {
  kAccepted,  // 200 with a valid identity
  kRefused,   // 401 or 403: the app said no (cached for the negative TTL)
  kInvalid,   // anything else: an error of the app, never cached
};

struct HookAnswer {
  HookAnswerKind kind = HookAnswerKind::kInvalid;
  Identity identity;   // when accepted
  std::string reason;  // otherwise: for the log; never quotes the body or anything the client sent
};

/// Limits of the answer (docs/auth-hook.md).
inline constexpr std::size_t kHookMaxBody = std::size_t{16} * 1024;
inline constexpr std::size_t kHookMaxIdBytes = 128;
inline constexpr std::size_t kHookMaxNameChars = 40;

/// Reads the app's answer: 200 with {"id": string or integer, "name": optional string} accepts; 401 and 403
/// refuse; any other status, or a 200 whose body is not such an object, is invalid.
HookAnswer read_hook_answer(unsigned status, std::string_view body);

/// A bounded map from cache key to the app's explicit answer, each entry with its own expiry. Not thread-safe.
class HookCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit HookCache(std::size_t capacity) : capacity_(capacity) {}

  /// The verdict stored for `key` if it is still fresh at `now` (a stale one is dropped).
  std::optional<Verdict> find(const std::string& key, Clock::time_point now);
  /// Stores `verdict` for `key` until `expires`. When full, drops expired entries, then the oldest.
  void store(const std::string& key, Verdict verdict, Clock::time_point expires, Clock::time_point now);
  std::size_t size() const noexcept { return index_.size(); }

 private:
  struct Entry {
    std::string key;
    Verdict verdict;
    Clock::time_point expires;
  };
  std::size_t capacity_;
  std::list<Entry> order_;  // oldest insertion first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

// ---- The authenticator -------------------------------------------------------------------------------------------

struct HttpHookOptions {
  std::string url;                               // http://host[:port][/path]
  std::string headers = "cookie,authorization";  // forwarded request headers, comma separated
  std::chrono::milliseconds timeout{2000};       // for the whole exchange: connect, send, answer
  std::chrono::seconds cache_ttl{30};            // how long an identity is reused (0: not cached)
  std::chrono::seconds negative_cache_ttl{5};    // how long a 401/403 is reused (0: not cached)
  std::size_t cache_capacity = 10000;            // entries, positive and negative together
};

/// What the authenticator did, for /metrics; read from any thread.
struct HookCounters {
  std::atomic<std::uint64_t> calls{0};       // requests sent to the app
  std::atomic<std::uint64_t> cache_hits{0};  // verdicts taken from the cache
  std::atomic<std::uint64_t> coalesced{0};   // sign-ins that waited for an identical request in flight
  std::atomic<std::uint64_t> accepted{0};    // identities the app returned
  std::atomic<std::uint64_t> refusals{0};    // 401/403 from the app
  std::atomic<std::uint64_t> errors{0};      // anything else: no connection, bad status or body
  std::atomic<std::uint64_t> timeouts{0};    // no complete answer within the timeout
};

/// Asks the app who the user is ("http" in --auth). Shared by every loop; each request runs on the loop
/// that asked, with at most a few idle keep-alive connections kept per loop.
class HttpHookAuthenticator final : public Authenticator {
 public:
  /// Parses the options and resolves the host (once, now). Throws std::runtime_error with a message naming
  /// the option on a bad URL, header list or unknown host.
  explicit HttpHookAuthenticator(const HttpHookOptions& options);
  ~HttpHookAuthenticator() override;
  HttpHookAuthenticator(const HttpHookAuthenticator&) = delete;
  HttpHookAuthenticator& operator=(const HttpHookAuthenticator&) = delete;

  std::string_view name() const override { return "http"; }

  /// Absent when none of the forwarded headers is present; else a cached verdict, or one from the app
  /// later. Must be called on an event loop thread (net::Loop::current()).
  void authenticate(const Credentials& credentials, Done done) override;

  /// As authenticate(), with the request run on `io`: the caller runs on `io`'s thread, and so does `done`.
  /// Requests still in flight when `io` is destroyed are dropped without calling `done`.
  void authenticate_on(boost::asio::io_context& io, const Credentials& credentials, Done done);

  const HookCounters& counters() const noexcept;

  /// The counters in the Prometheus text format, for /metrics.
  std::string metrics_text() const;

 private:
  std::shared_ptr<detail::HookShared> shared_;  // also held by every request in flight: may outlive this object
};

/// The "http" authenticator for `options` (see HttpHookAuthenticator's constructor for the errors).
std::unique_ptr<Authenticator> make_http_hook_authenticator(const HttpHookOptions& options);

}  // namespace peercable::auth
