#include "app/status_text.hpp"

#include "json/writer.hpp"

namespace peercable::app {
namespace {

void metric(std::string& out, std::string_view type, std::string_view name, std::string_view value) {
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(value).append("\n");
}

}  // namespace

void StatusFigures::add(const net::LoopCounters& c) {
  connections += c.connections.load(std::memory_order_relaxed);
  websockets += c.websockets.load(std::memory_order_relaxed);
  accepted += c.accepted.load(std::memory_order_relaxed);
  slow_consumer_closes += c.slow_consumer_closes.load(std::memory_order_relaxed);
  protocol_errors += c.protocol_errors.load(std::memory_order_relaxed);
  frames_out += c.frames_out.load(std::memory_order_relaxed);
  ping_timeouts += c.ping_timeouts.load(std::memory_order_relaxed);
  unauthorized += c.unauthorized.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < refusals.size(); ++i) refusals[i] += c.refusals[i].load(std::memory_order_relaxed);
  ++loops;
}

std::string health_json(const StatusFigures& f) {
  std::string out;
  json::ObjectWriter w(out);
  w.key("status").str(f.draining ? "draining" : "ok").key("version").str("0.1.0");
  w.key("uptime_s").num(f.uptime_s);
  w.key("connections").num(f.connections).key("websockets").num(f.websockets);
  w.key("loops").num(static_cast<std::int64_t>(f.loops));
  w.key("broker").str(f.broker_state);
  w.key("slow_consumer_closes").num(static_cast<std::int64_t>(f.slow_consumer_closes));
  w.end();
  return out;
}

std::string metrics_text(const StatusFigures& f, const std::vector<std::string>& sections) {
  std::string out;
  metric(out, "gauge", "peercable_connections", std::to_string(f.connections));
  metric(out, "gauge", "peercable_websockets", std::to_string(f.websockets));
  metric(out, "counter", "peercable_accepted_total", std::to_string(f.accepted));
  metric(out, "counter", "peercable_slow_consumer_closes_total", std::to_string(f.slow_consumer_closes));
  metric(out, "counter", "peercable_protocol_errors_total", std::to_string(f.protocol_errors));
  metric(out, "counter", "peercable_frames_sent_total", std::to_string(f.frames_out));
  metric(out, "counter", "peercable_ping_timeouts_total", std::to_string(f.ping_timeouts));
  metric(out, "counter", "peercable_unauthorized_total", std::to_string(f.unauthorized));
  for (const auto& s : sections) out += s;
  metric(out, "counter", "peercable_store_dropped_total", std::to_string(f.store_dropped));
  metric(out, "gauge", "peercable_store_queue", std::to_string(f.store_queue));
  metric(out, "gauge", "peercable_rooms", std::to_string(f.rooms));
  metric(out, "counter", "peercable_rooms_refused_total", std::to_string(f.rooms_refused));
  out += "# TYPE peercable_limit_refusals_total counter\n";
  for (std::size_t i = 0; i < f.refusals.size(); ++i) {
    out += "peercable_limit_refusals_total{limit=\"";
    out += net::limit_name(static_cast<net::Limit>(i));
    out += "\"} " + std::to_string(f.refusals[i]) + "\n";
  }
  return out;
}

}  // namespace peercable::app
