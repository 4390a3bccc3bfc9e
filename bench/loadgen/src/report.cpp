#include "report.hpp"

#include <cmath>
#include <cstdio>

namespace loadgen {

namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

void Report::put(std::string_view key, std::string json_value, std::string text_value) {
  for (auto& e : entries_) {
    if (e.key == key) {
      e.json = std::move(json_value);
      e.text = std::move(text_value);
      return;
    }
  }
  entries_.push_back({std::string(key), std::move(json_value), std::move(text_value)});
}

void Report::set(std::string_view key, double v) {
  put(key, number(v), number(v));
}
void Report::set(std::string_view key, std::int64_t v) {
  put(key, std::to_string(v), std::to_string(v));
}
void Report::set(std::string_view key, bool v) {
  put(key, v ? "true" : "false", v ? "yes" : "no");
}
void Report::set(std::string_view key, std::string_view v) {
  put(key, json_string(v), std::string(v));
}

void Report::set_latency(std::string_view prefix, const LatencySummary& s) {
  const std::string p(prefix);
  set(p + "_count", s.count);
  set(p + "_p50_ms", s.p50_ms);
  set(p + "_p95_ms", s.p95_ms);
  set(p + "_p99_ms", s.p99_ms);
  set(p + "_max_ms", s.max_ms);
  set(p + "_mean_ms", s.mean_ms);
}

std::string Report::to_json() const {
  std::string out = "{";
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (i) out += ',';
    out += json_string(entries_[i].key);
    out += ':';
    out += entries_[i].json;
  }
  return out + "}\n";
}

std::string Report::to_text() const {
  std::size_t width = 0;
  for (const auto& e : entries_) width = std::max(width, e.key.size());
  std::string out;
  for (const auto& e : entries_) {
    out += e.key;
    out.append(width + 2 - e.key.size(), ' ');
    out += e.text;
    out += '\n';
  }
  return out;
}

}  // namespace loadgen
