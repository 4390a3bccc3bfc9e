// Feeds arbitrary bytes to the frame parser in arbitrary pieces, with and without permessage-deflate.
#include <cstdint>
#include <string>

#include "ws/frame_parser.hpp"

namespace {
struct Sink : peercable::ws::FrameHandler {
  std::size_t bytes = 0;
  void on_message(peercable::ws::Opcode, std::string_view p) override { bytes += p.size(); }
  void on_ping(std::string_view p) override { bytes += p.size(); }
  void on_pong(std::string_view p) override { bytes += p.size(); }
  void on_close(std::uint16_t, std::string_view r) override { bytes += r.size(); }
  void on_protocol_error(std::uint16_t code, std::string_view) override {
    if (code != 1002 && code != 1007 && code != 1009) __builtin_trap();
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const bool deflate = data[0] & 1;
  const std::size_t step = 1 + data[1] % 64;  // piece size: exercises partial frames
  peercable::ws::ParserOptions opts;
  opts.max_message_size = 64 * 1024;
  opts.require_mask = data[0] & 2;
  peercable::ws::FrameParser parser(opts);
  if (deflate) parser.enable_deflate(peercable::ws::DeflateParams{});
  Sink sink;
  std::string buf;
  for (std::size_t i = 2; i < size; i += step) {
    buf.append(reinterpret_cast<const char*>(data + i), std::min(step, size - i));
    std::size_t used = parser.parse(reinterpret_cast<std::uint8_t*>(buf.data()), buf.size(), sink);
    if (used > buf.size()) __builtin_trap();
    buf.erase(0, used);
    if (parser.finished()) break;
  }
  return 0;
}
