// Readings of this process's and the server's resource use.
#pragma once

#include <optional>

namespace loadgen {

/// Resident set size of process `pid` in KiB (VmRSS in /proc/<pid>/status).
std::optional<long> read_rss_kb(int pid);

/// User + system CPU seconds consumed so far by process `pid` (all its threads), from /proc/<pid>/stat.
std::optional<double> read_cpu_seconds(int pid);

/// CPU seconds the whole machine has spent busy (all cores, all processes) since boot, from /proc/stat.
std::optional<double> read_machine_busy_seconds();

/// User + system CPU seconds consumed so far by this process (getrusage).
double self_cpu_seconds();

/// Raises RLIMIT_NOFILE towards `wanted` (the hard limit too when permitted); returns the soft limit now.
long raise_fd_limit(long wanted);

}  // namespace loadgen
