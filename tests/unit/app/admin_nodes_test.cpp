#include "app/admin_nodes.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

namespace peercable::app {
namespace {

NodeFigures sample(std::string id) {
  NodeFigures n;
  n.id = std::move(id);
  n.instance = "0123456789abcdef";
  n.version = "0.1.0";
  n.time = 1700000000;
  n.connections = 12;
  n.websockets = 10;
  n.streams = 3;
  n.subscriptions = 9;
  n.loops = {{0, 6, 5, 2, 4}, {1, 6, 5, 1, 5}};
  n.deliveries_per_s = 1234.5;
  n.broadcasts_per_s = 7;
  n.bytes_out_per_s = 99999.9;
  n.frames_out_per_s = 1300;
  n.deliveries = 50000;
  n.broadcasts = 300;
  n.bytes_out = 4000000;
  n.accepted = 40;
  n.slow_consumer_closes = 2;
  n.latency_count = 7;
  n.latency_p50_ms = 0.25;
  n.latency_p99_ms = -1;
  n.busiest_streams = {{"orders", 900}, {"chat:<b>", 300}};
  n.broker_kind = "redis";
  n.broker_state = "connected";
  n.history_kind = "sqlite";
  n.history_queue = 1;
  return n;
}

TEST(AdminNodes, SnapshotReadsBackAsWritten) {
  const NodeFigures n = sample("node-a");
  const std::string json = node_json(n);
  auto back = parse_node_json(json);
  ASSERT_TRUE(back);
  EXPECT_EQ(node_json(*back), json);
  EXPECT_EQ(back->loops.size(), 2u);
  EXPECT_EQ(back->busiest_streams[1].stream, "chat:<b>");
  EXPECT_EQ(back->latency_p99_ms, -1);
  EXPECT_NE(json.find("chat:\\u003cb\\u003e"), std::string::npos);  // escaped for a page
}

TEST(AdminNodes, UnknownFieldsAreIgnored) {
  std::string json = node_json(sample("node-a"));
  json.insert(1, "\"from_a_newer_version\":{\"x\":[1,2]},");
  EXPECT_TRUE(parse_node_json(json));
}

// Replaces the first `from` in a valid snapshot by `to`.
std::string with(std::string_view from, std::string_view to) {
  std::string json = node_json(sample("node-a"));
  auto at = json.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  json.replace(at, from.size(), to);
  return json;
}

TEST(AdminNodes, WhatIsNotASnapshotIsRefused) {
  for (const std::string& bad : {
           std::string("not json"),
           std::string("[]"),
           std::string("{}"),
           std::string("{\"id\":\"x\"}"),
           with("\"id\":\"node-a\"", "\"id\":\"\""),
           with("\"id\":\"node-a\"", "\"id\":7"),
           with("\"connections\":12", "\"connections\":-1"),
           with("\"connections\":12", "\"connections\":\"12\""),
           with("\"connections\":12", "\"connections\":1.5"),
           with("\"connections\":12", "\"connections\":9007199254740993"),
           with("\"connections\":12", "\"connections\":18446744073709551615"),
           with("\"deliveries_per_s\":1234.5", "\"deliveries_per_s\":1e300"),
           with("\"deliveries_per_s\":1234.5", "\"deliveries_per_s\":-5"),
           with("\"draining\":false", "\"draining\":0"),
           with("\"latency\":{", "\"latency\":[{"),
           with("\"loops\":[", "\"loops\":[1,"),
           with("\"busiest_streams\":[", "\"busiest_streams\":[{\"stream\":1,\"deliveries\":1},"),
           with("\"broker\":{\"kind\":\"redis\"", "\"broker\":{\"kind\":null"),
           with(",\"history\":{", ",\"historie\":{"),
       })
    EXPECT_FALSE(parse_node_json(bad)) << bad;
}

TEST(AdminNodes, SizesAreBounded) {
  EXPECT_FALSE(parse_node_json(with("\"id\":\"node-a\"", "\"id\":\"" + std::string(513, 'x') + "\"")));
  EXPECT_TRUE(parse_node_json(with("\"id\":\"node-a\"", "\"id\":\"" + std::string(512, 'x') + "\"")));
  std::string many = "\"busiest_streams\":[";
  for (int i = 0; i < 10; ++i) many += "{\"stream\":\"s\",\"deliveries\":1},";
  EXPECT_FALSE(parse_node_json(with("\"busiest_streams\":[", many)));  // 12 streams
  std::string padded = node_json(sample("node-a"));
  padded.insert(1, "\"pad\":\"" + std::string(NodeLimits::kSnapshotBytes, ' ') + "\",");
  EXPECT_FALSE(parse_node_json(padded));
}

TEST(AdminNodes, LongStreamNamesAreCutOnACodePointBoundary) {
  EXPECT_EQ(cut_stream_name("short"), "short");
  std::string name(255, 'a');
  name += "\xC3\xA9";  // é across the limit
  name += "tail";
  const std::string cut = cut_stream_name(name);
  EXPECT_EQ(cut, std::string(255, 'a') + "\xE2\x80\xA6");
  NodeFigures n = sample("node-a");
  n.busiest_streams = {{cut_stream_name(std::string(4000, 'z')), 1}};
  auto back = parse_node_json(node_json(n));
  ASSERT_TRUE(back);  // still valid UTF-8 and within the limits
  EXPECT_EQ(back->busiest_streams[0].stream.size(), NodeLimits::kStreamBytes + 3);
}

TEST(AdminNodes, TableKeepsOthersGoesStaleAndForgets) {
  NodeTable table("node-a", "own-instance");
  const auto t0 = NodeTable::Clock::now();
  NodeFigures own = sample("node-a");
  own.instance = "own-instance";
  EXPECT_EQ(table.offer(node_json(own), t0), NodeTable::Offer::kOwn);
  own.instance = "another-process";
  EXPECT_EQ(table.offer(node_json(own), t0), NodeTable::Offer::kRefused);
  EXPECT_EQ(table.offer("{\"id\":\"x\"}", t0), NodeTable::Offer::kRefused);
  EXPECT_EQ(table.offer(node_json(sample("node-b")), t0), NodeTable::Offer::kKept);
  EXPECT_EQ(table.offer(node_json(sample("node-c")), t0 + std::chrono::seconds(5)), NodeTable::Offer::kKept);

  auto now = table.current(t0 + std::chrono::seconds(6));
  ASSERT_EQ(now.size(), 2u);
  EXPECT_EQ(now[0].figures.id, "node-b");
  EXPECT_EQ(now[0].seen, t0);
  now = table.current(t0 + NodeTable::kForgetAfter);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].figures.id, "node-c");
}

TEST(AdminNodes, TableHoldsAtMostMaxNodes) {
  NodeTable table("self", "i");
  const auto t0 = NodeTable::Clock::now();
  for (std::size_t i = 0; i < NodeTable::kMaxNodes; ++i)
    ASSERT_EQ(table.offer(node_json(sample("n" + std::to_string(i))), t0), NodeTable::Offer::kKept);
  EXPECT_EQ(table.offer(node_json(sample("one-too-many")), t0), NodeTable::Offer::kFull);
  EXPECT_EQ(table.offer(node_json(sample("n3")), t0), NodeTable::Offer::kKept);  // a known one still updates
  // Once the silent ones are forgotten there is room again.
  EXPECT_EQ(table.offer(node_json(sample("late")), t0 + NodeTable::kForgetAfter), NodeTable::Offer::kKept);
  EXPECT_EQ(table.current(t0 + NodeTable::kForgetAfter).size(), 1u);
}

TEST(AdminNodes, TotalSumsTheLiveNodesAndMergesTheirStreams) {
  NodeFigures a = sample("a"), b = sample("b");
  a.draining = true;
  b.busiest_streams = {{"chat:<b>", 700}, {"news", 10}};
  std::string out;
  write_total(out, {&a, &b}, 1);
  simdjson::dom::parser parser;
  simdjson::dom::object t;
  ASSERT_EQ(parser.parse(out).get_object().get(t), simdjson::SUCCESS) << out;
  EXPECT_EQ(t["nodes"].get_int64().value(), 3);
  EXPECT_EQ(t["stale"].get_int64().value(), 1);
  EXPECT_EQ(t["draining"].get_int64().value(), 1);
  EXPECT_EQ(t["websockets"].get_int64().value(), 20);
  EXPECT_EQ(t["subscriptions"].get_int64().value(), 18);
  EXPECT_DOUBLE_EQ(t["deliveries_per_s"].get_double().value(), 2469);
  EXPECT_EQ(t["slow_consumer_closes"].get_int64().value(), 4);
  auto streams = t["busiest_streams"].get_array().value();
  ASSERT_EQ(streams.size(), 3u);
  EXPECT_EQ(streams.at(0)["stream"].get_string().value(), "chat:<b>");
  EXPECT_EQ(streams.at(0)["deliveries"].get_int64().value(), 1000);
  EXPECT_EQ(streams.at(1)["stream"].get_string().value(), "orders");
}

}  // namespace
}  // namespace peercable::app
