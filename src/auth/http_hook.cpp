#include "auth/http_hook.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "net/loop.hpp"

namespace peercable::auth {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;
using detail::HookShared;
using Forwarded = std::vector<std::pair<std::string, std::string>>;

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
  ask_hook_app(shared_, io, std::move(key), forwarded, credentials.remote_address, std::move(done));
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
