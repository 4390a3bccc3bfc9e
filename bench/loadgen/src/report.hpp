// A flat, ordered result record printed either as one JSON object or as aligned text lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stats.hpp"

namespace loadgen {

class Report {
 public:
  void set(std::string_view key, double v);
  void set(std::string_view key, std::int64_t v);
  void set(std::string_view key, int v) { set(key, static_cast<std::int64_t>(v)); }
  void set(std::string_view key, std::size_t v) { set(key, static_cast<std::int64_t>(v)); }
  void set(std::string_view key, bool v);
  void set(std::string_view key, std::string_view v);
  void set(std::string_view key, const char* v) { set(key, std::string_view(v)); }
  /// Adds `prefix`_count, _p50_ms, _p95_ms, _p99_ms, _max_ms, _mean_ms.
  void set_latency(std::string_view prefix, const LatencySummary& s);

  std::string to_json() const;
  std::string to_text() const;

 private:
  void put(std::string_view key, std::string json_value, std::string text_value);
  struct Entry {
    std::string key, json, text;
  };
  std::vector<Entry> entries_;
};

}  // namespace loadgen
