// The commands a driving process writes to `--scenario hold` on its standard input, one per line:
//   round <seq>   broadcast number <seq> is being sent (by the process started with --broadcaster);
//                 report its receipt once every subscriber here has it or --round-timeout passes
//   quit          stop holding: close the connections and print the final report
// End of input means quit too, so a driver that dies takes its load generators with it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loadgen {

enum class HoldCommandKind { round, quit, invalid };

struct HoldCommand {
  HoldCommandKind kind = HoldCommandKind::invalid;
  std::int64_t seq = -1;  ///< round: the broadcast's sequence number (0 .. 1e9)
};

/// Reads one line (without its newline; a trailing '\r' and surrounding blanks are ignored).
HoldCommand parse_hold_command(std::string_view line);

/// Removes the first complete line from `buffer` and returns it in `line`; false when there is none yet.
bool take_line(std::string& buffer, std::string& line);

}  // namespace loadgen
