#include "ws/shared_deflate.hpp"

#include "ws/frame_encoder.hpp"

namespace peercable::ws {

Inflater& SharedDeflate::inflater() {
  if (!inflater_) inflater_ = std::make_unique<Inflater>(15, true);
  return *inflater_;
}

bool SharedDeflate::deflate_frame(std::string_view payload, int window_bits, std::string& frame) {
  if (payload.size() < min_size_ || window_bits < 9 || window_bits > 15) return false;
  auto& d = deflaters_[window_bits];
  if (!d) d = std::make_unique<Deflater>(window_bits, options_.mem_level, true);
  if (!d->deflate_message(payload, scratch_)) return false;
  const bool smaller = scratch_.size() < payload.size();
  if (smaller) {
    frame.clear();
    frame.reserve(scratch_.size() + 10);
    append_frame_header(frame, Opcode::kText, scratch_.size(), true, true);
    frame.append(scratch_);
  }
  // One large message must not pin its size here for the loop's lifetime.
  if (scratch_.capacity() > (64u << 10)) std::string().swap(scratch_);
  return smaller;
}

}  // namespace peercable::ws
