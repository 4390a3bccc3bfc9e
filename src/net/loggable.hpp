#pragma once
// Client-supplied text made safe for a log line: bounded, control characters replaced, so a header or a
// channel name cannot forge lines or flood the log.
#include <string>
#include <string_view>

namespace peercable::net {

inline std::string loggable(std::string_view text, std::size_t max = 200) {
  std::string out(text.substr(0, max));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  if (text.size() > max) out += "…";
  return out;
}

}  // namespace peercable::net
