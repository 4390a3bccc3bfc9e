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

ws::SharedFrame Broadcast::frame_for(std::string_view identifier) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, frame] : frames_)
    if (id == identifier) return frame;
  auto frame = ws::make_text_frame(envelope(identifier, payload_));
  frames_.emplace_back(std::string(identifier), frame);
  return frame;
}

}  // namespace peercable::cable
