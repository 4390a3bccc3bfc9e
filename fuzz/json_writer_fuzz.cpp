// Re-encoding arbitrary JSON must give JSON that parses back to the same structure.
#include <simdjson.h>

#include <cstdint>
#include <string>

#include "json/writer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  simdjson::dom::parser p1, p2;
  simdjson::dom::element doc;
  if (p1.parse(reinterpret_cast<const char*>(data), size).get(doc)) return 0;
  std::string out;
  peercable::json::append_value(out, doc);
  simdjson::dom::element back;
  if (p2.parse(out).get(back)) __builtin_trap();
  if (back.type() != doc.type()) __builtin_trap();
  return 0;
}
