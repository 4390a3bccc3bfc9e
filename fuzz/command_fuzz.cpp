// Action Cable command parsing (the extended protocol's history, whisper and pong too) on arbitrary text.
#include <cstdint>
#include <string_view>

#include "cable/command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = peercable::cable::parse_command(std::string_view(reinterpret_cast<const char*>(data), size));
  if (r.command && r.command->kind == peercable::cable::Command::Kind::kMessage && r.command->identifier.size() > size)
    __builtin_trap();
  // Extended protocol: a history request, when read, stays within its bounds.
  if (r.command && r.command->history) {
    const auto& h = *r.command->history;
    if (h.streams.size() > peercable::cable::kMaxHistoryStreams) __builtin_trap();
    for (const auto& p : h.streams)
      if (p.epoch.empty() || p.epoch.size() > peercable::cable::kMaxEpochBytes || p.stream.empty() ||
          p.stream.size() > peercable::cable::kMaxHistoryStreamBytes)
        __builtin_trap();
    if (h.since && *h.since < 0) __builtin_trap();
  }
  if (r.command && r.command->history && r.command->history_malformed) __builtin_trap();
  return 0;
}
