// peercable-loadgen: drives an Action Cable server with N WebSocket clients and reports throughput,
// latency and resource use. Wiring only; see harness.hpp and scenarios.hpp.
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>

#include "harness.hpp"
#include "options.hpp"
#include "scenarios.hpp"

namespace {

void on_stop_signal(int) {
  loadgen::Harness::stop_requested = 1;
}

void on_alarm(int) {
  // The scenario's own deadline should have ended the run already; this is the backstop.
  static constexpr char kMessage[] = "peercable-loadgen: hard time limit reached, exiting\n";
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  _exit(124);
}

}  // namespace

int main(int argc, char** argv) {
  const loadgen::Options options = loadgen::parse_options(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGALRM, on_alarm);
  alarm(static_cast<unsigned>(std::ceil(options.time_limit)) + 3);

  try {
    const loadgen::RunResult result = loadgen::run_scenario(options);
    const std::string out = options.json ? result.report.to_json() : result.report.to_text();
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    if (!result.usable) return 1;
    return result.completed ? 0 : 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peercable-loadgen: %s\n", e.what());
    return 1;
  }
}
