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
#include <random>

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

Admin::Admin(AdminSources sources, std::string_view key)
    : src_(std::move(sources)), enabled_(!key.empty()), shared_broker_(src_.broker_kind != "local") {
  if (enabled_) key_digest_ = sha256(key);
  if (src_.node_id.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "localhost");
    src_.node_id = std::string(host) + ":" + std::to_string(src_.port);
  }
  std::random_device random;
  instance_ = fmt::format("{:08x}{:08x}", random(), random());
  others_ = std::make_shared<NodeTable>(src_.node_id, instance_);
  last_ = read_totals();
  // Reserved even with the live view off here: other nodes' figures must not reach this node's clients. The
  // sink owns the table too: the broker's thread may still deliver after this object is gone.
  std::shared_ptr<NodeTable> table = enabled_ ? others_ : nullptr;
  src_.cable->set_internal_stream(std::string(kNodesStream), [table](const std::string& payload) {
    if (table) table->offer(payload, Clock::now());
  });
}

void Admin::attach() {
  for (auto* loop : src_.loops) {
    auto& stats = src_.cable->loop_state(loop->index()).stats;
    loop->every(std::chrono::seconds(1), [&stats] { stats.roll(); });
  }
  if (!enabled_) return;
  net::Loop* first = src_.loops.front();
  first->every(std::chrono::seconds(1), [this] { sample(); });
  // The broker takes subscriptions on the loop's own thread; nothing waits for it to be ready.
  if (shared_broker_)
    first->post([this, first] { src_.cable->broker().subscribe(first->index(), std::string(kNodesStream), [] {}); });
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
    return json_response(200, stats_json());
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

// This node's figures: rates over the last second, the busiest streams of the last window of every loop,
// and the state of the back ends.
NodeFigures Admin::sample_node(const Totals& now) const {
  const double dt = std::max(1e-3, std::chrono::duration<double>(now.at - last_.at).count());
  auto rate = [&](std::uint64_t a, std::uint64_t b) { return static_cast<double>(a - b) / dt; };
  auto count = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };

  NodeFigures n;
  n.id = src_.node_id;
  n.instance = instance_;
  n.version = "0.1.0";
  n.time = static_cast<std::int64_t>(std::time(nullptr));
  n.draining = src_.draining && src_.draining();
  std::map<std::string, std::uint64_t> busiest;
  for (auto* loop : src_.loops) {
    auto& c = loop->counters();
    const auto& s = src_.cable->loop_state(loop->index()).stats;
    NodeFigures::Loop l;
    l.loop = loop->index();
    l.connections = c.connections.load(std::memory_order_relaxed);
    l.websockets = c.websockets.load(std::memory_order_relaxed);
    l.streams = s.streams();
    l.subscriptions = s.stream_subscriptions();
    n.connections += l.connections;
    n.websockets += l.websockets;
    n.streams += l.streams;
    n.subscriptions += l.subscriptions;
    n.loops.push_back(l);
    for (auto& sc : s.top_streams()) busiest[sc.stream] += sc.deliveries;
  }
  n.deliveries_per_s = rate(now.deliveries, last_.deliveries);
  n.broadcasts_per_s = rate(now.broadcasts, last_.broadcasts);
  n.bytes_out_per_s = rate(now.bytes_out, last_.bytes_out);
  n.frames_out_per_s = rate(now.frames_out, last_.frames_out);
  n.deliveries = count(now.deliveries);
  n.broadcasts = count(now.broadcasts);
  n.bytes_out = count(now.bytes_out);
  n.accepted = count(now.accepted);
  n.slow_consumer_closes = count(now.slow_closes);
  n.slow_consumer_closes_per_s = rate(now.slow_closes, last_.slow_closes);

  std::array<std::uint64_t, kBuckets> window{};
  std::uint64_t in_window = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    window[i] = now.latency[i] - last_.latency[i];
    in_window += window[i];
  }
  n.latency_count = count(in_window);
  n.latency_p50_ms = quantile_ms(window, 0.5);
  n.latency_p99_ms = quantile_ms(window, 0.99);

  std::vector<std::pair<std::string, std::uint64_t>> top(busiest.begin(), busiest.end());
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (top.size() > kBusiestStreams) top.resize(kBusiestStreams);
  // Names come from clients (up to an identifier's size): cut, so that a snapshot stays small.
  for (auto& [stream, deliveries] : top) n.busiest_streams.push_back({cut_stream_name(stream), count(deliveries)});

  n.broker_kind = src_.broker_kind;
  n.broker_state = src_.cable->broker().state();
  n.history_kind = src_.history_kind;
  n.history_queue = count(src_.store->depth());
  n.history_dropped = count(src_.store->dropped());
  return n;
}

// Once a second on the first loop: this node's figures, published for the other nodes when they share a
// broker, and the answer of /admin/api/stats (this node first, then every other one by id, then the total),
// kept for the page to fetch: answering a request only copies it.
void Admin::sample() {
  const Totals now = read_totals();
  const NodeFigures own = sample_node(now);
  last_ = now;
  if (shared_broker_) src_.cable->broker().publish_internal(std::string(kNodesStream), node_json(own));

  const auto at = Clock::now();
  const auto others = others_->current(at);
  std::vector<const NodeFigures*> live{&own};
  std::size_t stale = 0;
  std::string out = "{\"nodes\":[";
  auto add = [&out](const NodeFigures& n, bool self, bool is_stale, std::int64_t age_s) {
    json::ObjectWriter w(out);
    write_node_fields(w, out, n);
    w.key("self").boolean(self).key("stale").boolean(is_stale).key("age_s").num(age_s);
    w.end();
  };
  add(own, true, false, 0);
  for (const auto& e : others) {
    const bool is_stale = at - e.seen >= NodeTable::kStaleAfter;
    out += ',';
    add(e.figures, false, is_stale, std::chrono::duration_cast<std::chrono::seconds>(at - e.seen).count());
    if (is_stale)
      ++stale;
    else
      live.push_back(&e.figures);
  }
  out += "],\"total\":";
  write_total(out, live, stale);
  out += '}';
  std::lock_guard lock(mutex_);
  stats_json_.swap(out);
}

std::string Admin::stats_json() const {
  std::lock_guard lock(mutex_);
  // Before the first sample: no node yet.
  return stats_json_.empty() ? std::string("{\"nodes\":[]}") : stats_json_;
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
