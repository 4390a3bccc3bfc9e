#pragma once
// The HTTP auth hook's client: one GET to the app per sign-in not answered from the cache, run on the
// asking loop's io_context, over a few idle keep-alive connections kept per loop; identical sign-ins in
// flight on a loop (a user's several tabs) share one request.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "auth/answer_cache.hpp"
#include "auth/authenticator.hpp"
#include "auth/http_hook_settings.hpp"

namespace peercable::auth {

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

namespace detail {

/// The options, cache and counters of one authenticator, shared with its requests in flight (which may
/// outlive it).
struct HookShared {
  HookUrl url;
  std::string authority;  // Host header, reasons in the log, and the key of idle connections
  std::vector<std::string> names;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;
  std::chrono::milliseconds timeout{};
  std::chrono::seconds ttl{};
  std::chrono::seconds negative_ttl{};
  HookCounters counters;
  std::mutex mutex;
  HookCache cache{0};  // guarded by mutex
};

}  // namespace detail

/// Asks the app about `forwarded` (whose cache key is `cache_key`) on `io`, which the caller runs on; `done`
/// is called there with the verdict, which is cached for the TTL of its kind. Joins an identical request
/// already in flight on `io`. Requests still in flight when `io` is destroyed are dropped without calling `done`.
void ask_hook_app(const std::shared_ptr<detail::HookShared>& shared, boost::asio::io_context& io, std::string cache_key,
                  const std::vector<std::pair<std::string, std::string>>& forwarded, const std::string& remote_address,
                  Done done);

}  // namespace peercable::auth
