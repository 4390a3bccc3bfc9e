#include "cable/broadcast.hpp"

#include "json/writer.hpp"

namespace peercable::cable {

std::string type_reply(std::string_view identifier, std::string_view type) {
  std::string out = "{\"identifier\":";
  json::append_string(out, identifier);
  out += ",\"type\":\"";
  out += type;
  out += "\"}";
  return out;
}

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

std::string ext_envelope(std::string_view identifier, std::string_view payload_json, std::string_view stream,
                         std::string_view epoch, std::uint64_t offset) {
  std::string out;
  out.reserve(identifier.size() + payload_json.size() + stream.size() + epoch.size() + 80);
  out += "{\"identifier\":";
  json::append_string(out, identifier);
  out += ",\"message\":";
  out += payload_json;
  out += ",\"stream_id\":";
  json::append_string(out, stream);
  out += ",\"epoch\":";
  json::append_string(out, epoch);
  out += ",\"offset\":";
  out += std::to_string(offset);
  out += '}';
  return out;
}

Broadcast::Frames& Broadcast::frames_of(std::string_view identifier, bool ext) const {
  if (!epoch_) ext = false;  // no position to tell: the plain frame serves both
  for (auto& f : frames_)
    if (f.ext == ext && f.identifier == identifier) return f;
  auto& f = frames_.emplace_back();
  f.identifier = identifier;
  f.ext = ext;
  f.plain = ws::make_text_frame(ext ? ext_envelope(identifier, payload_, stream_, *epoch_, offset_)
                                    : envelope(identifier, payload_));
  return f;
}

ws::SharedFrame Broadcast::frame_for(std::string_view identifier, bool ext) const {
  std::lock_guard lock(mutex_);
  return frames_of(identifier, ext).plain;
}

ws::SharedFrame Broadcast::deflated_frame_for(std::string_view identifier, ws::SharedDeflate& z, bool ext) const {
  std::lock_guard lock(mutex_);
  Frames& f = frames_of(identifier, ext);
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
