// The five benchmark scenarios. Each connects the clients, measures, closes and returns its figures.
#pragma once

#include "options.hpp"
#include "report.hpp"

namespace loadgen {

/// Outcome of one run: the figures, and whether the time limit cut the run short.
struct RunResult {
  Report report;
  bool completed = false;  ///< the scenario ran to its end within --time-limit
  bool usable = false;     ///< at least one client was subscribed
};

/// Runs the scenario selected in `options` against the server and reports on it.
RunResult run_scenario(const Options& options);

}  // namespace loadgen
