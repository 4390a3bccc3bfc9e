#pragma once
// Runs a shell command from a unit test (the Ruby fixture scripts that make reference data with Rails).
#include <cstdio>
#include <optional>
#include <string>

namespace peercable::testing {

/// Runs `command`, returning its stdout when it exits 0.
inline std::optional<std::string> run_command(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  return ::pclose(p) == 0 ? std::optional(out) : std::nullopt;
}

}  // namespace peercable::testing
