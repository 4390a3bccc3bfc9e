#include "options.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace loadgen {

namespace {

constexpr std::size_t kMaxPorts = 256;

constexpr const char* kUsage = R"(peercable-loadgen: Action Cable WebSocket load generator (BenchmarkChannel)

usage: peercable-loadgen --port P[,P...] --scenario S [options]
  --host H              server address (127.0.0.1; IPv4 only)
  --port P[,P...]       server port (required); with several, clients are spread over them in turn,
                        the first one getting the broadcasting client (e.g. 9001,9002: two nodes)
  --path P              request path with query, e.g. "/cable?token=XYZ" (/cable)
  --clients N           connections (100)
  --connect-rate R      new connections per second, 0 = all at once (2000)
  --max-pending N       start a connection only while fewer than N are between connect and
                        confirm_subscription, so a slow server slows the connects (0 = no cap)
  --scenario S          fanout | sustained | echo | idle | storm | hold (fanout)
                        hold: connect, subscribe, print {"event":"ready",...} on stdout, then follow
                        commands on stdin ("round SEQ", "quit"; end of input = quit): for each round
                        print {"event":"round","seq":SEQ,...,"latency_us":[...]} with every client's
                        publish-to-receipt time (CLOCK_MONOTONIC, comparable across processes), once
                        all have it or --round-timeout passed. Several processes can hold one run.
  --broadcaster         hold: this process sends broadcast SEQ from its first client on "round SEQ"
  --rounds N            fanout: broadcasts, one per round (10)
  --warmup N            fanout: unmeasured rounds before those (1)
  --rate R              sustained: broadcasts per second (150)
  --duration S          sustained/echo/idle: seconds of measurement (10)
  --payload-bytes B     padding bytes in each broadcast/echo payload, chat-like text (32)
  --deflate             offer permessage-deflate as Chromium does ("permessage-deflate;
                        client_max_window_bits") and inflate compressed messages
  --protocol P          plain: offer actioncable-v1-json as @rails/actioncable does (default);
                        ext: offer actioncable-v1-ext-json alone and subscribe with a history request,
                        as @anycable/web does, and check every broadcast's stream position (offsets
                        one by one per stream: gaps and duplicates are counted)
  --server-pid PID[,PID...]
                        read the server's RSS and CPU time from /proc; with several, their sum
                        (e.g. two nodes and their Redis)
  --source-addrs N      bind clients to 127.0.0.1..127.0.0.N (auto: one per 10k clients, at least 2)
  --round-timeout S     fanout/hold: give up on a round after S seconds (10)
  --drain S             sustained/echo: wait for stragglers after sending stops (5)
  --settle S            idle: wait after subscribing before reading RSS (1)
  --gap S               fanout: pause between rounds (0.05)
  --time-limit S        hard stop; the run ends by itself within S seconds (120)
  --json                print the result as one JSON object on stdout
  --quiet               no progress lines on stderr
)";

[[noreturn]] void usage_error(const std::string& why) {
  throw OptionError(why);
}

double to_number(std::string_view name, const std::string& v, double lo, double hi) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(d >= lo && d <= hi))
    usage_error(std::string(name) + " wants a number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                "], got '" + v + "'");
  return d;
}

/// A comma-separated list of numbers in [lo, hi], each one as to_number reads it; empty items are refused.
std::vector<int> to_number_list(std::string_view name, const std::string& v, double lo, double hi) {
  std::vector<int> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = v.find(',', start);
    const std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) usage_error(std::string(name) + " wants numbers separated by commas, got '" + v + "'");
    out.push_back(static_cast<int>(to_number(name, item, lo, hi)));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

ScenarioKind to_scenario(const std::string& v) {
  if (v == "fanout") return ScenarioKind::fanout;
  if (v == "sustained") return ScenarioKind::sustained;
  if (v == "echo") return ScenarioKind::echo;
  if (v == "idle") return ScenarioKind::idle;
  if (v == "storm") return ScenarioKind::storm;
  if (v == "hold") return ScenarioKind::hold;
  usage_error("unknown scenario '" + v + "'");
}

CableProtocol to_protocol(const std::string& v) {
  if (v == "plain") return CableProtocol::plain;
  if (v == "ext") return CableProtocol::ext;
  usage_error("--protocol wants plain or ext, got '" + v + "'");
}

}  // namespace

const char* scenario_name(ScenarioKind kind) {
  switch (kind) {
    case ScenarioKind::fanout: return "fanout";
    case ScenarioKind::sustained: return "sustained";
    case ScenarioKind::echo: return "echo";
    case ScenarioKind::idle: return "idle";
    case ScenarioKind::storm: return "storm";
    case ScenarioKind::hold: return "hold";
  }
  return "?";
}

const char* usage_text() {
  return kUsage;
}

Options parse_args(int argc, const char* const* argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    auto next = [&]() -> const std::string& {
      if (!has_value) {
        if (i + 1 >= argc) usage_error(arg + " needs a value");
        value = argv[++i];
        has_value = true;
      }
      return value;
    };
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return o;
    } else if (arg == "--json")
      o.json = true;
    else if (arg == "--quiet")
      o.quiet = true;
    else if (arg == "--deflate")
      o.deflate = true;
    else if (arg == "--broadcaster")
      o.broadcaster = true;
    else if (arg == "--host")
      o.host = next();
    else if (arg == "--port")
      o.ports = to_number_list(arg, next(), 1, 65535);
    else if (arg == "--path")
      o.path = next();
    else if (arg == "--clients")
      o.clients = static_cast<int>(to_number(arg, next(), 1, 1'000'000));
    else if (arg == "--connect-rate")
      o.connect_rate = to_number(arg, next(), 0, 1e7);
    else if (arg == "--max-pending")
      o.max_pending = static_cast<int>(to_number(arg, next(), 0, 1'000'000));
    else if (arg == "--scenario")
      o.scenario = to_scenario(next());
    else if (arg == "--protocol")
      o.protocol = to_protocol(next());
    else if (arg == "--rounds")
      o.rounds = static_cast<int>(to_number(arg, next(), 1, 1e6));
    else if (arg == "--warmup")
      o.warmup = static_cast<int>(to_number(arg, next(), 0, 1000));
    else if (arg == "--rate")
      o.rate = to_number(arg, next(), 0.001, 1e6);
    else if (arg == "--duration")
      o.duration = to_number(arg, next(), 0, 86400);
    else if (arg == "--payload-bytes")
      o.payload_bytes = static_cast<int>(to_number(arg, next(), 0, 1 << 24));
    else if (arg == "--time-limit")
      o.time_limit = to_number(arg, next(), 1, 86400);
    else if (arg == "--server-pid") {
      o.server_pids = to_number_list(arg, next(), 0, 1 << 30);
      std::erase(o.server_pids, 0);  // 0 stands for "no server process to watch"
    } else if (arg == "--source-addrs")
      o.source_addrs = static_cast<int>(to_number(arg, next(), 0, 254));
    else if (arg == "--round-timeout")
      o.round_timeout = to_number(arg, next(), 0.01, 3600);
    else if (arg == "--drain")
      o.drain = to_number(arg, next(), 0, 3600);
    else if (arg == "--settle")
      o.settle = to_number(arg, next(), 0, 3600);
    else if (arg == "--gap")
      o.gap = to_number(arg, next(), 0, 60);
    else
      usage_error("unknown option '" + arg + "'");
  }
  if (o.ports.empty()) usage_error("--port is required");
  if (o.ports.size() > kMaxPorts) usage_error("--port takes at most " + std::to_string(kMaxPorts) + " ports");
  if (o.path.empty() || o.path[0] != '/') usage_error("--path must start with '/'");
  return o;
}

Options parse_options(int argc, char** argv) {
  try {
    Options o = parse_args(argc, argv);
    if (o.help) {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    return o;
  } catch (const OptionError& e) {
    std::fprintf(stderr, "peercable-loadgen: %s (see --help)\n", e.what());
    std::exit(2);
  }
}

}  // namespace loadgen
