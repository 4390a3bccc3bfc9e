// Action Cable command parsing on arbitrary text.
#include <cstdint>
#include <string_view>

#include "cable/command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = peercable::cable::parse_command(std::string_view(reinterpret_cast<const char*>(data), size));
  if (r.command && r.command->kind == peercable::cable::Command::Kind::kMessage && r.command->identifier.size() > size)
    __builtin_trap();
  return 0;
}
