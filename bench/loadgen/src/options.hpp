// Command-line options of peercable-loadgen.
#pragma once

#include <cstdint>
#include <string>

namespace loadgen {

enum class ScenarioKind { fanout, sustained, echo, idle, storm };

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/cable";
  int clients = 100;
  double connect_rate = 2000;  ///< new connections per second; 0 = all at once
  ScenarioKind scenario = ScenarioKind::fanout;
  int rounds = 10;         ///< fanout rounds
  int warmup = 1;          ///< fanout: unmeasured rounds first
  double rate = 150;       ///< sustained broadcasts per second
  double duration = 10;    ///< sustained/echo/idle measurement time, seconds
  int payload_bytes = 32;  ///< size of the padding string in each broadcast/echo
  bool json = false;
  double time_limit = 120;    ///< hard stop, seconds
  int server_pid = 0;         ///< for RSS/CPU readings
  int source_addrs = 0;       ///< 127.0.0.1..127.0.0.N; 0 = one per 10k clients, at least 2
  double round_timeout = 10;  ///< fanout: give up on a round after this many seconds
  double drain = 5;           ///< sustained/echo: how long to wait for stragglers after sending stops
  double settle = 1;          ///< idle: wait before reading RSS after all are subscribed
  double gap = 0.05;          ///< fanout: pause between rounds, seconds
  bool quiet = false;
};

/// Parses argv; on --help prints usage and exits 0, on a bad option prints why and exits 2.
Options parse_options(int argc, char** argv);

const char* scenario_name(ScenarioKind kind);

}  // namespace loadgen
