// Command-line options of peercable-loadgen.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cable_message.hpp"

namespace loadgen {

enum class ScenarioKind { fanout, sustained, echo, idle, storm, hold };

struct Options {
  std::string host = "127.0.0.1";
  /// Server ports on `host`: client i connects to ports[i % size], so the first port has client 0 and the
  /// broadcasting client of fanout/sustained. Several ports measure nodes that share their broadcasts.
  std::vector<int> ports;
  std::string path = "/cable";
  int clients = 100;
  double connect_rate = 2000;  ///< new connections per second; 0 = all at once
  int max_pending = 0;         ///< at most this many connections between connect and subscribed; 0 = no cap
  ScenarioKind scenario = ScenarioKind::fanout;
  int rounds = 10;         ///< fanout rounds
  int warmup = 1;          ///< fanout: unmeasured rounds first
  double rate = 150;       ///< sustained broadcasts per second
  double duration = 10;    ///< sustained/echo/idle measurement time, seconds
  int payload_bytes = 32;  ///< size of the padding string in each broadcast/echo
  bool json = false;
  double time_limit = 120;       ///< hard stop, seconds
  std::vector<int> server_pids;  ///< for RSS/CPU readings, summed over all of them
  int source_addrs = 0;          ///< 127.0.0.1..127.0.0.N; 0 = one per 10k clients, at least 2
  double round_timeout = 10;     ///< fanout: give up on a round after this many seconds
  double drain = 5;              ///< sustained/echo: how long to wait for stragglers after sending stops
  double settle = 1;             ///< idle: wait before reading RSS after all are subscribed
  double gap = 0.05;             ///< fanout: pause between rounds, seconds
  bool quiet = false;
  bool deflate = false;  ///< offer permessage-deflate like a browser
  CableProtocol protocol = CableProtocol::plain;  ///< the subprotocol offered (ext: AnyCable's extended one)
  bool broadcaster = false;  ///< hold: this process sends the broadcasts (one process of a run)
  bool help = false;  ///< --help was given; nothing else was checked
};

/// A command line that cannot be run; what() says why.
struct OptionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses argv without printing or exiting: throws OptionError on a bad option, and returns with `help`
/// set as soon as it meets --help or -h.
Options parse_args(int argc, const char* const* argv);

/// parse_args for main(): on --help prints usage and exits 0, on a bad option prints why and exits 2.
Options parse_options(int argc, char** argv);

/// The --help text.
const char* usage_text();

const char* scenario_name(ScenarioKind kind);

}  // namespace loadgen
