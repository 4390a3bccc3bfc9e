#pragma once
// One broadcast on a stream: its payload, and its frames built once per distinct identifier (plain, and
// compressed for permessage-deflate clients) and shared by every subscriber on every loop.
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame_encoder.hpp"
#include "ws/shared_deflate.hpp"

namespace peercable::cable {

/// {"identifier":<identifier as a JSON string>,"message":<payload>}
std::string envelope(std::string_view identifier, std::string_view payload_json);

class Broadcast {
 public:
  Broadcast(std::string stream, std::string payload) : stream_(std::move(stream)), payload_(std::move(payload)) {}
  const std::string& stream() const noexcept { return stream_; }
  const std::string& payload() const noexcept { return payload_; }
  /// When the broadcast entered this node (published here or received from Redis), for the latency metric.
  std::chrono::steady_clock::time_point entered() const noexcept { return entered_; }

  /// The text frame for subscribers whose identifier is `identifier`; built on first use. Thread-safe.
  ws::SharedFrame frame_for(std::string_view identifier) const;
  /// The compressed text frame (RSV1, no context takeover, `z`'s window) for the same subscribers; built
  /// on first use with the calling loop's `z`. nullptr when not worth compressing. Thread-safe.
  ws::SharedFrame deflated_frame_for(std::string_view identifier, ws::SharedDeflate& z) const;

 private:
  struct Frames {
    std::string identifier;
    ws::SharedFrame plain;
    ws::SharedFrame deflated;
    bool deflate_tried = false;
  };
  Frames& frames_of(std::string_view identifier) const;  // mutex_ held

  std::string stream_;
  std::string payload_;
  std::chrono::steady_clock::time_point entered_ = std::chrono::steady_clock::now();
  mutable std::mutex mutex_;
  mutable std::vector<Frames> frames_;
};

}  // namespace peercable::cable
