#include "hold_command.hpp"

#include "text.hpp"

namespace loadgen {

HoldCommand parse_hold_command(std::string_view line) {
  line = trim(line);
  if (line == "quit") return {HoldCommandKind::quit, -1};
  constexpr std::string_view kRound = "round ";
  if (line.substr(0, kRound.size()) != kRound) return {};
  const std::string_view digits = trim(line.substr(kRound.size()));
  if (digits.empty() || digits.size() > 10) return {};
  std::int64_t seq = 0;
  for (const char ch : digits) {
    if (ch < '0' || ch > '9') return {};
    seq = seq * 10 + (ch - '0');
  }
  if (seq > 1'000'000'000) return {};
  return {HoldCommandKind::round, seq};
}

bool take_line(std::string& buffer, std::string& line) {
  const auto nl = buffer.find('\n');
  if (nl == std::string::npos) return false;
  line.assign(buffer, 0, nl);
  buffer.erase(0, nl + 1);
  return true;
}

}  // namespace loadgen
