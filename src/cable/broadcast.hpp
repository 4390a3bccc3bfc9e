#pragma once
// One broadcast on a stream: its payload, and its frames built once per distinct identifier and shared
// by every subscriber on every loop.
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ws/frame_encoder.hpp"

namespace peercable::cable {

/// {"identifier":<identifier as a JSON string>,"message":<payload>}
std::string envelope(std::string_view identifier, std::string_view payload_json);

class Broadcast {
 public:
  Broadcast(std::string stream, std::string payload) : stream_(std::move(stream)), payload_(std::move(payload)) {}
  const std::string& stream() const noexcept { return stream_; }
  const std::string& payload() const noexcept { return payload_; }

  /// The text frame for subscribers whose identifier is `identifier`; built on first use. Thread-safe.
  ws::SharedFrame frame_for(std::string_view identifier) const;

 private:
  std::string stream_;
  std::string payload_;
  mutable std::mutex mutex_;
  mutable std::vector<std::pair<std::string, ws::SharedFrame>> frames_;
};

}  // namespace peercable::cable
