#include "cable/broadcast.hpp"

#include "json/writer.hpp"

namespace peercable::cable {

std::string envelope(std::string_view identifier, std::string_view payload_json) {
  std::string out;
  out.reserve(identifier.size() + payload_json.size() + 40);
  out += "{\"identifier\":";
  json::append_string(out, identifier);
  out += ",\"message\":";
  out += payload_json;
  out += '}';
  return out;
}

Broadcast::Frames& Broadcast::frames_of(std::string_view identifier) const {
  for (auto& f : frames_)
    if (f.identifier == identifier) return f;
  auto& f = frames_.emplace_back();
  f.identifier = identifier;
  f.plain = ws::make_text_frame(envelope(identifier, payload_));
  return f;
}

ws::SharedFrame Broadcast::frame_for(std::string_view identifier) const {
  std::lock_guard lock(mutex_);
  return frames_of(identifier).plain;
}

ws::SharedFrame Broadcast::deflated_frame_for(std::string_view identifier, ws::SharedDeflate& z) const {
  std::lock_guard lock(mutex_);
  Frames& f = frames_of(identifier);
  if (!f.deflate_tried) {
    f.deflate_tried = true;
    // The plain frame's payload is the envelope: compress that, without building it again.
    std::string_view env(*f.plain);
    const unsigned len7 = static_cast<unsigned char>(env[1]) & 0x7F;
    env.remove_prefix(len7 == 126 ? 4 : len7 == 127 ? 10 : 2);
    std::string frame;
    if (z.deflate_frame(env, z.options().window_bits, frame)) f.deflated = std::make_shared<const std::string>(std::move(frame));
  }
  return f.deflated;
}

}  // namespace peercable::cable
