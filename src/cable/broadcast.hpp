#pragma once
// One broadcast on a stream: its payload, and its frames built once per distinct identifier (plain, and
// compressed for permessage-deflate clients) and shared by every subscriber on every loop.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame_encoder.hpp"
#include "ws/shared_deflate.hpp"

namespace peercable::cable {

/// {"identifier":<identifier as a JSON string>,"type":"<type>"}: confirm_subscription, reject_history, ...
std::string type_reply(std::string_view identifier, std::string_view type);
/// {"identifier":<identifier as a JSON string>,"message":<payload>}
std::string envelope(std::string_view identifier, std::string_view payload_json);
/// The extended protocol's envelope: the same, with "stream_id", "epoch" and "offset" after "message".
std::string ext_envelope(std::string_view identifier, std::string_view payload_json, std::string_view stream,
                         std::string_view epoch, std::uint64_t offset);

class Broadcast {
 public:
  Broadcast(std::string stream, std::string payload) : stream_(std::move(stream)), payload_(std::move(payload)) {}
  const std::string& stream() const noexcept { return stream_; }
  const std::string& payload() const noexcept { return payload_; }
  /// When the broadcast entered this node (published here or received from Redis), for the latency metric.
  std::chrono::steady_clock::time_point entered() const noexcept { return entered_; }

  /// The stream offset and epoch the stream log gave this broadcast (before it is shared); 0 and null when
  /// there is no log.
  void set_position(std::uint64_t offset, std::shared_ptr<const std::string> epoch) {
    offset_ = offset;
    epoch_ = std::move(epoch);
  }
  std::uint64_t offset() const noexcept { return offset_; }
  const std::shared_ptr<const std::string>& epoch() const noexcept { return epoch_; }

  /// The text frame for subscribers whose identifier is `identifier`; built on first use. Thread-safe.
  /// `ext`: the extended protocol's frame (with the stream position, when there is one).
  ws::SharedFrame frame_for(std::string_view identifier, bool ext = false) const;
  /// The compressed text frame (RSV1, no context takeover, `z`'s window) for the same subscribers; built
  /// on first use with the calling loop's `z`. nullptr when not worth compressing. Thread-safe.
  ws::SharedFrame deflated_frame_for(std::string_view identifier, ws::SharedDeflate& z, bool ext = false) const;

 private:
  struct Frames {
    std::string identifier;
    bool ext = false;
    ws::SharedFrame plain;
    ws::SharedFrame deflated;
    bool deflate_tried = false;
  };
  Frames& frames_of(std::string_view identifier, bool ext) const;  // mutex_ held

  std::string stream_;
  std::string payload_;
  std::chrono::steady_clock::time_point entered_ = std::chrono::steady_clock::now();
  std::uint64_t offset_ = 0;
  std::shared_ptr<const std::string> epoch_;
  mutable std::mutex mutex_;
  mutable std::vector<Frames> frames_;
};

}  // namespace peercable::cable
