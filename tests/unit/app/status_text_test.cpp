// The /health and /metrics bodies made from a snapshot of figures.
#include "app/status_text.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

using peercable::app::StatusFigures;

namespace {

StatusFigures sample() {
  StatusFigures f;
  f.uptime_s = 42;
  f.broker_state = "redis:up";
  peercable::net::LoopCounters a, b;
  a.connections = 3;
  a.websockets = 2;
  a.accepted = 10;
  a.slow_consumer_closes = 1;
  b.connections = 4;
  b.websockets = 4;
  b.accepted = 5;
  b.unauthorized = 7;
  b.refusals[static_cast<std::size_t>(peercable::net::Limit::kOrigin)] = 9;
  a.refusals[static_cast<std::size_t>(peercable::net::Limit::kOrigin)] = 1;
  f.add(a);
  f.add(b);
  f.store_queue = 6;
  f.rooms = 8;
  return f;
}

}  // namespace

TEST(StatusText, HealthSumsTheLoops) {
  StatusFigures f = sample();
  simdjson::dom::parser parser;
  auto doc = parser.parse(peercable::app::health_json(f));
  EXPECT_EQ(std::string_view(doc["status"]), "ok");
  EXPECT_EQ(int64_t(doc["uptime_s"]), 42);
  EXPECT_EQ(int64_t(doc["connections"]), 7);
  EXPECT_EQ(int64_t(doc["websockets"]), 6);
  EXPECT_EQ(int64_t(doc["loops"]), 2);
  EXPECT_EQ(std::string_view(doc["broker"]), "redis:up");
  EXPECT_EQ(int64_t(doc["slow_consumer_closes"]), 1);
  f.draining = true;
  EXPECT_EQ(std::string_view(parser.parse(peercable::app::health_json(f))["status"]), "draining");
}

TEST(StatusText, MetricsAreTypedAndSectionsStandBeforeTheStore) {
  std::string text = peercable::app::metrics_text(sample(), {"# hook\n", "# delivery\n"});
  EXPECT_NE(text.find("# TYPE peercable_connections gauge\npeercable_connections 7\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE peercable_accepted_total counter\npeercable_accepted_total 15\n"), std::string::npos);
  EXPECT_NE(text.find("peercable_unauthorized_total 7\n"), std::string::npos);
  EXPECT_NE(text.find("peercable_store_queue 6\n"), std::string::npos);
  EXPECT_NE(text.find("peercable_rooms 8\n"), std::string::npos);
  EXPECT_NE(text.find("peercable_limit_refusals_total{limit=\"origin\"} 10\n"), std::string::npos);
  EXPECT_NE(text.find("peercable_limit_refusals_total{limit=\"commands\"} 0\n"), std::string::npos);
  const auto hook = text.find("# hook\n# delivery\n");
  ASSERT_NE(hook, std::string::npos);
  EXPECT_LT(text.find("peercable_unauthorized_total"), hook);
  EXPECT_GT(text.find("peercable_store_dropped_total"), hook);
}
