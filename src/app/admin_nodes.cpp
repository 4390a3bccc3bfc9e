#include "app/admin_nodes.hpp"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "json/writer.hpp"

namespace peercable::app {
namespace {

// One decimal is plenty for a rate on a dashboard, and keeps the JSON short.
void append_rate(std::string& out, double v) {
  json::append_double(out, std::round(v * 10) / 10);
}

// The figures of traffic, shared by a node and the total: rates over the last second and counts since start.
void write_traffic(json::ObjectWriter& w, std::string& out, const NodeFigures& n) {
  w.key("deliveries_per_s");
  append_rate(out, n.deliveries_per_s);
  w.key("broadcasts_per_s");
  append_rate(out, n.broadcasts_per_s);
  w.key("bytes_out_per_s");
  append_rate(out, n.bytes_out_per_s);
  w.key("frames_out_per_s");
  append_rate(out, n.frames_out_per_s);
  w.key("deliveries").num(n.deliveries).key("broadcasts").num(n.broadcasts).key("bytes_out").num(n.bytes_out);
  w.key("accepted").num(n.accepted).key("slow_consumer_closes").num(n.slow_consumer_closes);
  w.key("slow_consumer_closes_per_s");
  append_rate(out, n.slow_consumer_closes_per_s);
}

void write_streams(json::ObjectWriter& w, std::string& out, const std::vector<NodeFigures::Stream>& streams) {
  w.key("busiest_streams");
  out += '[';
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (i) out += ',';
    json::ObjectWriter sw(out);
    sw.key("stream").str(streams[i].stream).key("deliveries").num(streams[i].deliveries);
    sw.end();
  }
  out += ']';
}

// ---- reading: every field present with its type, every string and list within NodeLimits -------------

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// Counts: 0 to 2^53 (what the page's numbers hold exactly), so that sums over kMaxNodes never overflow.
bool get(object o, std::string_view k, std::int64_t& v) {
  return o[k].get_int64().get(v) == simdjson::SUCCESS && v >= 0 && v <= NodeLimits::kMaxCount;
}

// Rates and quantiles: from -1 (a quantile above the last bucket) to kMaxRate.
bool get(object o, std::string_view k, double& v) {
  return o[k].get_double().get(v) == simdjson::SUCCESS && v >= -1 && v <= NodeLimits::kMaxRate;
}

bool get(object o, std::string_view k, bool& v) {
  return o[k].get_bool().get(v) == simdjson::SUCCESS;
}

bool get(object o, std::string_view k, std::string& v, std::size_t max_bytes) {
  std::string_view s;
  if (o[k].get_string().get(s) != simdjson::SUCCESS || s.size() > max_bytes) return false;
  v.assign(s);
  return true;
}

bool get(object o, std::string_view k, object& v) {
  return o[k].get_object().get(v) == simdjson::SUCCESS;
}

bool get(object o, std::string_view k, array& v, std::size_t max_items) {
  return o[k].get_array().get(v) == simdjson::SUCCESS && v.size() <= max_items;
}

bool read_loops(array a, std::vector<NodeFigures::Loop>& out) {
  for (element e : a) {
    object o;
    NodeFigures::Loop l;
    if (e.get_object().get(o) || !get(o, "loop", l.loop) || !get(o, "connections", l.connections) ||
        !get(o, "websockets", l.websockets) || !get(o, "streams", l.streams) ||
        !get(o, "subscriptions", l.subscriptions))
      return false;
    out.push_back(l);
  }
  return true;
}

bool read_streams(array a, std::vector<NodeFigures::Stream>& out) {
  for (element e : a) {
    object o;
    NodeFigures::Stream s;
    // A name cut by cut_stream_name() ends in "…" (3 bytes) past the limit.
    if (e.get_object().get(o) || !get(o, "stream", s.stream, NodeLimits::kStreamBytes + 3) ||
        !get(o, "deliveries", s.deliveries))
      return false;
    out.push_back(std::move(s));
  }
  return true;
}

}  // namespace

std::string cut_stream_name(std::string_view name) {
  if (name.size() <= NodeLimits::kStreamBytes) return std::string(name);
  std::size_t end = NodeLimits::kStreamBytes;
  // Back to the first byte of a code point (continuation bytes are 10xxxxxx).
  while (end > 0 && (static_cast<unsigned char>(name[end]) & 0xC0) == 0x80) --end;
  return std::string(name.substr(0, end)) + "\xE2\x80\xA6";
}

void write_node_fields(json::ObjectWriter& w, std::string& out, const NodeFigures& n) {
  w.key("id").str(n.id).key("instance").str(n.instance).key("version").str(n.version);
  w.key("time").num(n.time).key("draining").boolean(n.draining);
  w.key("connections").num(n.connections).key("websockets").num(n.websockets);
  w.key("streams").num(n.streams).key("subscriptions").num(n.subscriptions);
  w.key("loops");
  out += '[';
  for (std::size_t i = 0; i < n.loops.size(); ++i) {
    if (i) out += ',';
    const auto& l = n.loops[i];
    json::ObjectWriter lw(out);
    lw.key("loop").num(l.loop).key("connections").num(l.connections).key("websockets").num(l.websockets);
    lw.key("streams").num(l.streams).key("subscriptions").num(l.subscriptions);
    lw.end();
  }
  out += ']';
  write_traffic(w, out, n);
  w.key("latency");
  {
    json::ObjectWriter lw(out);
    lw.key("count").num(n.latency_count).key("p50_ms");
    json::append_double(out, n.latency_p50_ms);
    lw.key("p99_ms");
    json::append_double(out, n.latency_p99_ms);
    lw.end();
  }
  write_streams(w, out, n.busiest_streams);
  w.key("broker");
  {
    json::ObjectWriter bw(out);
    bw.key("kind").str(n.broker_kind).key("state").str(n.broker_state);
    bw.end();
  }
  w.key("history");
  {
    json::ObjectWriter hw(out);
    hw.key("kind").str(n.history_kind).key("queue").num(n.history_queue).key("dropped").num(n.history_dropped);
    hw.end();
  }
}

std::string node_json(const NodeFigures& n) {
  std::string out;
  json::ObjectWriter w(out);
  write_node_fields(w, out, n);
  w.end();
  return out;
}

std::optional<NodeFigures> parse_node_json(std::string_view json) {
  if (json.size() > NodeLimits::kSnapshotBytes) return std::nullopt;
  // One parser per thread: snapshots arrive on the broker's thread (or a loop's, with the local broker).
  thread_local simdjson::dom::parser parser;
  object o, latency, broker, history;
  array loops, streams;
  if (parser.parse(json.data(), json.size()).get_object().get(o) != simdjson::SUCCESS) return std::nullopt;
  NodeFigures n;
  constexpr auto kWord = NodeLimits::kWordBytes;
  bool ok = get(o, "id", n.id, NodeLimits::kIdBytes) && !n.id.empty() && get(o, "instance", n.instance, kWord) &&
            get(o, "version", n.version, kWord) && get(o, "time", n.time) && get(o, "draining", n.draining) &&
            get(o, "connections", n.connections) && get(o, "websockets", n.websockets) &&
            get(o, "streams", n.streams) && get(o, "subscriptions", n.subscriptions) &&
            get(o, "loops", loops, NodeLimits::kLoops) && read_loops(loops, n.loops) &&
            get(o, "deliveries_per_s", n.deliveries_per_s) && get(o, "broadcasts_per_s", n.broadcasts_per_s) &&
            get(o, "bytes_out_per_s", n.bytes_out_per_s) && get(o, "frames_out_per_s", n.frames_out_per_s) &&
            get(o, "deliveries", n.deliveries) && get(o, "broadcasts", n.broadcasts) &&
            get(o, "bytes_out", n.bytes_out) && get(o, "accepted", n.accepted) &&
            get(o, "slow_consumer_closes", n.slow_consumer_closes) &&
            get(o, "slow_consumer_closes_per_s", n.slow_consumer_closes_per_s) && get(o, "latency", latency) &&
            get(latency, "count", n.latency_count) && get(latency, "p50_ms", n.latency_p50_ms) &&
            get(latency, "p99_ms", n.latency_p99_ms) && get(o, "busiest_streams", streams, NodeLimits::kStreams) &&
            read_streams(streams, n.busiest_streams) && get(o, "broker", broker) &&
            get(broker, "kind", n.broker_kind, kWord) && get(broker, "state", n.broker_state, kWord) &&
            get(o, "history", history) && get(history, "kind", n.history_kind, kWord) &&
            get(history, "queue", n.history_queue) && get(history, "dropped", n.history_dropped);
  if (!ok) return std::nullopt;
  return n;
}

void write_total(std::string& out, const std::vector<const NodeFigures*>& live, std::size_t stale) {
  NodeFigures t;
  std::int64_t draining = 0;
  std::map<std::string_view, std::int64_t> streams;
  for (const NodeFigures* n : live) {
    draining += n->draining ? 1 : 0;
    t.connections += n->connections;
    t.websockets += n->websockets;
    t.subscriptions += n->subscriptions;
    t.deliveries_per_s += n->deliveries_per_s;
    t.broadcasts_per_s += n->broadcasts_per_s;
    t.bytes_out_per_s += n->bytes_out_per_s;
    t.frames_out_per_s += n->frames_out_per_s;
    t.deliveries += n->deliveries;
    t.broadcasts += n->broadcasts;
    t.bytes_out += n->bytes_out;
    t.accepted += n->accepted;
    t.slow_consumer_closes += n->slow_consumer_closes;
    t.slow_consumer_closes_per_s += n->slow_consumer_closes_per_s;
    for (const auto& s : n->busiest_streams) streams[s.stream] += s.deliveries;
  }
  std::vector<std::pair<std::string_view, std::int64_t>> top(streams.begin(), streams.end());
  // Busiest first; a tie by name, so that the list does not flicker between samples.
  std::stable_sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (top.size() > NodeLimits::kStreams) top.resize(NodeLimits::kStreams);
  for (const auto& [stream, deliveries] : top) t.busiest_streams.push_back({std::string(stream), deliveries});

  json::ObjectWriter w(out);
  w.key("nodes").num(static_cast<std::int64_t>(live.size() + stale)).key("stale").num(static_cast<std::int64_t>(stale));
  w.key("draining").num(draining).key("connections").num(t.connections).key("websockets").num(t.websockets);
  w.key("subscriptions").num(t.subscriptions);
  write_traffic(w, out, t);
  write_streams(w, out, t.busiest_streams);
  w.end();
}

// ---- the table of the other nodes ----------------------------------------------------------------------

NodeTable::NodeTable(std::string own_id, std::string own_instance)
    : own_id_(std::move(own_id)), own_instance_(std::move(own_instance)) {}

NodeTable::Offer NodeTable::offer(std::string_view json, Clock::time_point now) {
  // Parsed and logged outside the lock: the page's readers (on a loop) never wait on a parse or a log write.
  auto n = parse_node_json(json);
  if (!n) {
    // What the broker carries is data from the network: said once, then only at debug.
    if (!refusal_logged_.exchange(true))
      spdlog::warn("admin: ignored a node snapshot that is not one ({} bytes)", json.size());
    else
      spdlog::debug("admin: ignored a node snapshot that is not one ({} bytes)", json.size());
    return Offer::kRefused;
  }
  if (n->id == own_id_) {
    if (n->instance == own_instance_) return Offer::kOwn;
    if (!duplicate_logged_.exchange(true))
      spdlog::warn("admin: another process reports as node {} too; give each node its own --node-id", own_id_);
    return Offer::kRefused;
  }
  {
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(n->id);
    if (it != nodes_.end()) {
      it->second = Entry{std::move(*n), now};
      return Offer::kKept;
    }
    std::erase_if(nodes_, [now](const auto& kv) { return now - kv.second.seen >= kForgetAfter; });
    if (nodes_.size() < kMaxNodes) {
      std::string id = n->id;
      nodes_.emplace(std::move(id), Entry{std::move(*n), now});
      return Offer::kKept;
    }
  }
  if (!full_logged_.exchange(true))
    spdlog::warn("admin: more than {} nodes report; the others are not listed", kMaxNodes);
  return Offer::kFull;
}

std::vector<NodeTable::Entry> NodeTable::current(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::erase_if(nodes_, [now](const auto& kv) { return now - kv.second.seen >= kForgetAfter; });
  std::vector<Entry> out;
  out.reserve(nodes_.size());
  for (const auto& [id, e] : nodes_) out.push_back(e);
  return out;
}

}  // namespace peercable::app
