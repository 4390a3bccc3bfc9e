#pragma once
// What the application side of a WebSocket (an Action Cable session, the stream hub delivering to it) needs
// from the connection under it. The HTTP connection implements it; unit tests use a recording one, so the
// sessions and the hub are tested without sockets. Here, below both, so that neither depends on the other.
#include <cstdint>
#include <string>
#include <string_view>

#include "ws/frame_encoder.hpp"
#include "ws/shared_deflate.hpp"

namespace peercable::ws {

class Transport {
 public:
  /// Queues a text message framed for this connection only (compressed when negotiated and worthwhile).
  virtual void send_text(std::string_view payload) = 0;
  /// Queues a frame shared with other connections (a broadcast framed once).
  virtual void send_frame(const SharedFrame& frame) = 0;
  /// Starts the closing handshake with `code`; further sends are dropped.
  virtual void close(std::uint16_t code, std::string_view reason = {}) = 0;
  /// The client's address as text, for logs.
  virtual std::string remote_address() const = 0;
  /// The compression state shared by the connections of this one's loop (see takes_shared_deflate).
  virtual SharedDeflate& loop_deflate() noexcept = 0;

  /// True when this connection takes frames compressed by its loop's SharedDeflate at the loop's window
  /// (permessage-deflate without server context takeover): broadcasts send it their compressed frame. Not
  /// virtual: it is read once per delivery.
  bool takes_shared_deflate() const noexcept { return takes_shared_deflate_; }

 protected:
  Transport() = default;
  ~Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  bool takes_shared_deflate_ = false;
};

}  // namespace peercable::ws
