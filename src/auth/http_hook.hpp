#pragma once
// Sign-in through the app itself: the upgrade request's cookies and chosen headers are forwarded to an HTTP
// route of the app (a Rails controller action, say), whose JSON answer names the user (docs/auth-hook.md).
// The requests run on the calling loop's io_context; answers are cached briefly, keyed by a digest of what
// was forwarded, never by the cookie itself.
//
// The parts, one concept each: http_hook_settings.hpp (the URL, the forwarded headers, the cache key),
// hook_answer.hpp (reading the app's answer), answer_cache.hpp (the TTL cache) and http_hook_client.hpp
// (the per-loop connections and the request itself). This file joins them into the authenticator.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "auth/answer_cache.hpp"
#include "auth/authenticator.hpp"
#include "auth/hook_answer.hpp"
#include "auth/http_hook_client.hpp"
#include "auth/http_hook_settings.hpp"

namespace peercable::auth {

struct HttpHookOptions {
  std::string url;                               // http://host[:port][/path]
  std::string headers = "cookie,authorization";  // forwarded request headers, comma separated
  std::chrono::milliseconds timeout{2000};       // for the whole exchange: connect, send, answer
  std::chrono::seconds cache_ttl{30};            // how long an identity is reused (0: not cached)
  std::chrono::seconds negative_cache_ttl{5};    // how long a 401/403 is reused (0: not cached)
  std::size_t cache_capacity = 10000;            // entries, positive and negative together
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
