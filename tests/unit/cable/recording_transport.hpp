#pragma once
// A ws::Transport that records what a session or the hub sends, for tests without sockets: each message
// (text or shared frame) as the client would read it, in order, and the close.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ws/transport.hpp"

namespace peercable::testing {

class RecordingTransport final : public ws::Transport {
 public:
  explicit RecordingTransport(bool shared_deflate = false) : deflate_({}, 128) {
    takes_shared_deflate_ = shared_deflate;
  }

  void send_text(std::string_view payload) override {
    if (!closed_) messages.emplace_back(payload);
  }
  void send_frame(const ws::SharedFrame& frame) override {
    if (closed_) return;
    frames.push_back(frame);
    messages.push_back(payload_of(*frame));
  }
  void close(std::uint16_t code, std::string_view reason) override {
    if (closed_) return;
    closed_ = true;
    close_code = code;
    close_reason = std::string(reason);
  }
  std::string remote_address() const override { return "192.0.2.1"; }
  ws::SharedDeflate& loop_deflate() noexcept override { return deflate_; }

  /// The payload of a server frame (unmasked, one fragment), as framed by ws::encode_frame.
  static std::string payload_of(const std::string& frame) {
    const unsigned len7 = static_cast<unsigned char>(frame[1]) & 0x7F;
    const std::size_t header = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
    return frame.substr(header);
  }
  /// Messages recorded since the last call.
  std::vector<std::string> take() {
    std::vector<std::string> out(messages.begin() + static_cast<std::ptrdiff_t>(taken_), messages.end());
    taken_ = messages.size();
    return out;
  }

  std::vector<std::string> messages;  // every message in the order sent
  std::vector<ws::SharedFrame> frames;
  std::optional<std::uint16_t> close_code;
  std::string close_reason;

 private:
  ws::SharedDeflate deflate_;
  bool closed_ = false;
  std::size_t taken_ = 0;
};

}  // namespace peercable::testing
