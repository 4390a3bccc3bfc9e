#include "app/admin.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/fmt/fmt.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>

#include "cable/cable_server.hpp"
#include "cable/delivery_stats.hpp"
#include "json/writer.hpp"
#include "net/loop.hpp"
#include "store/store_worker.hpp"

namespace peercable::app {
namespace bhttp = boost::beast::http;
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kBuckets = cable::kLatencyBucketsUs.size() + 1;
static_assert(kBuckets == 16, "Admin::Totals::latency holds one count per bucket");

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

http::Response json_response(unsigned status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

// One decimal is plenty for a rate on a dashboard, and keeps the JSON short.
void append_rate(std::string& out, double v) {
  json::append_double(out, std::round(v * 10) / 10);
}

// The upper bound, in milliseconds, of the bucket holding quantile `q` of `counts`; -1 when it is +Inf,
// 0 when there is nothing.
double quantile_ms(const std::array<std::uint64_t, kBuckets>& counts, double q) {
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) return i < cable::kLatencyBucketsUs.size() ? cable::kLatencyBucketsUs[i] / 1000.0 : -1;
  }
  return -1;
}

}  // namespace

Admin::Admin(AdminSources sources, std::string_view key) : src_(std::move(sources)), enabled_(!key.empty()) {
  if (enabled_) key_digest_ = sha256(key);
  if (src_.node_id.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "localhost");
    src_.node_id = std::string(host) + ":" + std::to_string(src_.port);
  }
  last_ = read_totals();
}

void Admin::attach() {
  for (auto* loop : src_.loops) {
    auto& stats = src_.cable->loop_state(loop->index()).stats;
    loop->every(std::chrono::seconds(1), [&stats] { stats.roll(); });
  }
  if (enabled_) src_.loops.front()->every(std::chrono::seconds(1), [this] { sample(); });
}

// Both sides are hashed first, so the comparison takes the same time whatever the length or the content of
// the key sent.
bool Admin::key_matches(std::string_view given) const {
  auto d = sha256(given);
  return CRYPTO_memcmp(d.data(), key_digest_.data(), d.size()) == 0;
}

http::Response Admin::handle(std::string_view path, const http::Request& req) const {
  // Off unless a key is configured: nothing under /admin exists then.
  if (!enabled_) return json_response(404, http::json_error("not found"));
  const auto method = req.method();
  if (path == "/admin/api/stats") {
    if (method != bhttp::verb::get) {
      auto r = json_response(405, http::json_error("method not allowed; use GET"));
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    std::string_view authz = req[bhttp::field::authorization];
    std::string_view given = authz.size() > 7 && (authz.substr(0, 7) == "Bearer " || authz.substr(0, 7) == "bearer ")
                                 ? authz.substr(7)
                                 : std::string_view{};
    if (given.empty() || !key_matches(given)) {
      auto r = json_response(401, http::json_error("missing or wrong admin key"));
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    std::string body = "{\"nodes\":[";
    {
      std::lock_guard lock(mutex_);
      body += node_json_.empty() ? "{}" : node_json_;
    }
    body += "]}";
    return json_response(200, std::move(body));
  }
  if (method != bhttp::verb::get && method != bhttp::verb::head) {
    auto r = json_response(405, http::json_error("method not allowed; use GET, HEAD"));
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  // The page and its assets (web/dist/admin/); they hold no figures, the page asks for them with the key.
  const http::StaticFile* file = src_.files ? src_.files->find(path == "/admin" ? "/admin/" : path) : nullptr;
  if (!file) return json_response(404, http::json_error("not found"));
  http::Response r;
  r.content_type = file->content_type;
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  r.headers.emplace_back("ETag", file->etag);
  if (req[bhttp::field::if_none_match] == file->etag) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  if (method != bhttp::verb::head) r.body = file->body;
  return r;
}

Admin::Totals Admin::read_totals() const {
  Totals t;
  t.at = Clock::now();
  for (auto* loop : src_.loops) {
    auto& c = loop->counters();
    t.bytes_out += c.bytes_out.load(std::memory_order_relaxed);
    t.frames_out += c.frames_out.load(std::memory_order_relaxed);
    t.slow_closes += c.slow_consumer_closes.load(std::memory_order_relaxed);
    t.accepted += c.accepted.load(std::memory_order_relaxed);
    const auto& s = src_.cable->loop_state(loop->index()).stats;
    t.deliveries += s.deliveries();
    t.broadcasts += s.broadcasts();
    auto counts = s.latency().counts();
    for (std::size_t i = 0; i < kBuckets; ++i) t.latency[i] += counts[i];
  }
  return t;
}

// Once a second on the first loop: rates over the last second, the busiest streams of the last window of
// every loop, and the state of the back ends. A few hundred bytes of JSON, kept for the page to fetch.
void Admin::sample() {
  const Totals now = read_totals();
  const double dt = std::max(1e-3, std::chrono::duration<double>(now.at - last_.at).count());
  auto rate = [&](std::uint64_t a, std::uint64_t b) { return static_cast<double>(a - b) / dt; };

  std::string out;
  json::ObjectWriter w(out);
  w.key("id").str(src_.node_id).key("version").str("0.1.0");
  w.key("time").num(static_cast<std::int64_t>(std::time(nullptr)));
  w.key("draining").boolean(src_.draining && src_.draining());

  std::int64_t connections = 0, websockets = 0, streams = 0, subscriptions = 0;
  std::string loops = "[";
  std::map<std::string, std::uint64_t> busiest;
  for (auto* loop : src_.loops) {
    auto& c = loop->counters();
    const auto& s = src_.cable->loop_state(loop->index()).stats;
    const auto conns = c.connections.load(std::memory_order_relaxed);
    const auto ws = c.websockets.load(std::memory_order_relaxed);
    connections += conns;
    websockets += ws;
    streams += s.streams();
    subscriptions += s.stream_subscriptions();
    if (loops.size() > 1) loops += ',';
    json::ObjectWriter l(loops);
    l.key("loop").num(loop->index()).key("connections").num(conns).key("websockets").num(ws);
    l.key("streams").num(s.streams()).key("subscriptions").num(s.stream_subscriptions());
    l.end();
    for (auto& sc : s.top_streams()) busiest[sc.stream] += sc.deliveries;
  }
  loops += ']';
  w.key("connections").num(connections).key("websockets").num(websockets);
  w.key("streams").num(streams).key("subscriptions").num(subscriptions);
  w.key("loops").raw(loops);

  w.key("deliveries_per_s");
  append_rate(out, rate(now.deliveries, last_.deliveries));
  w.key("broadcasts_per_s");
  append_rate(out, rate(now.broadcasts, last_.broadcasts));
  w.key("bytes_out_per_s");
  append_rate(out, rate(now.bytes_out, last_.bytes_out));
  w.key("frames_out_per_s");
  append_rate(out, rate(now.frames_out, last_.frames_out));
  w.key("deliveries").num(static_cast<std::int64_t>(now.deliveries));
  w.key("broadcasts").num(static_cast<std::int64_t>(now.broadcasts));
  w.key("bytes_out").num(static_cast<std::int64_t>(now.bytes_out));
  w.key("accepted").num(static_cast<std::int64_t>(now.accepted));
  w.key("slow_consumer_closes").num(static_cast<std::int64_t>(now.slow_closes));
  w.key("slow_consumer_closes_per_s");
  append_rate(out, rate(now.slow_closes, last_.slow_closes));

  std::array<std::uint64_t, kBuckets> window{};
  for (std::size_t i = 0; i < kBuckets; ++i) window[i] = now.latency[i] - last_.latency[i];
  w.key("latency");
  {
    json::ObjectWriter l(out);
    std::uint64_t n = 0;
    for (auto c : window) n += c;
    l.key("count").num(static_cast<std::int64_t>(n));
    l.key("p50_ms");
    json::append_double(out, quantile_ms(window, 0.5));
    l.key("p99_ms");
    json::append_double(out, quantile_ms(window, 0.99));
    l.end();
  }

  std::vector<std::pair<std::string, std::uint64_t>> top(busiest.begin(), busiest.end());
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (top.size() > kBusiestStreams) top.resize(kBusiestStreams);
  w.key("busiest_streams");
  out += '[';
  for (std::size_t i = 0; i < top.size(); ++i) {
    if (i) out += ',';
    json::ObjectWriter s(out);
    s.key("stream").str(top[i].first).key("deliveries").num(static_cast<std::int64_t>(top[i].second));
    s.end();
  }
  out += ']';

  w.key("broker");
  {
    json::ObjectWriter b(out);
    b.key("kind").str(src_.broker_kind).key("state").str(src_.cable->broker().state());
    b.end();
  }
  w.key("history");
  {
    json::ObjectWriter h(out);
    h.key("kind").str(src_.history_kind);
    h.key("queue").num(static_cast<std::int64_t>(src_.store->depth()));
    h.key("dropped").num(static_cast<std::int64_t>(src_.store->dropped()));
    h.end();
  }
  w.end();
  last_ = now;
  std::lock_guard lock(mutex_);
  node_json_.swap(out);
}

std::string Admin::node_json() const {
  std::lock_guard lock(mutex_);
  return node_json_;
}

std::string Admin::metrics_text() const {
  const Totals t = read_totals();
  std::int64_t streams = 0, subscriptions = 0;
  std::uint64_t sum_ns = 0;
  for (auto* loop : src_.loops) {
    const auto& s = src_.cable->loop_state(loop->index()).stats;
    streams += s.streams();
    subscriptions += s.stream_subscriptions();
    sum_ns += s.latency().sum_ns();
  }
  std::string out;
  out += "# TYPE peercable_broadcasts_total counter\npeercable_broadcasts_total " + std::to_string(t.broadcasts) + "\n";
  out += "# TYPE peercable_deliveries_total counter\npeercable_deliveries_total " + std::to_string(t.deliveries) + "\n";
  out += "# TYPE peercable_bytes_sent_total counter\npeercable_bytes_sent_total " + std::to_string(t.bytes_out) + "\n";
  out += "# TYPE peercable_streams gauge\npeercable_streams " + std::to_string(streams) + "\n";
  out += "# TYPE peercable_stream_subscriptions gauge\npeercable_stream_subscriptions " +
         std::to_string(subscriptions) + "\n";
  out +=
      "# HELP peercable_broadcast_latency_seconds From a broadcast entering the node to its frames handed to the "
      "sockets, once per broadcast per loop.\n";
  out += "# TYPE peercable_broadcast_latency_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    cumulative += t.latency[i];
    std::string le = i < cable::kLatencyBucketsUs.size()
                         ? fmt::format("{}", static_cast<double>(cable::kLatencyBucketsUs[i]) / 1e6)
                         : std::string("+Inf");
    out += "peercable_broadcast_latency_seconds_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  // _count is the +Inf bucket as read above (the totals may have moved since).
  out += "peercable_broadcast_latency_seconds_sum " + fmt::format("{}", static_cast<double>(sum_ns) / 1e9) + "\n";
  out += "peercable_broadcast_latency_seconds_count " + std::to_string(cumulative) + "\n";
  return out;
}

}  // namespace peercable::app
