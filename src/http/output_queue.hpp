#pragma once
// The output side of one connection: a bounded queue of shared frames written with one sendmsg (or, with
// TLS, one batch of records) per flush, and the byte count that the slow-consumer limit is measured against.
// It owns no socket and no timer: the connection says when to write and what to do when the socket is full.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "net/frame_queue.hpp"
#include "net/loop.hpp"
#include "net/tls.hpp"
#include "ws/frame_encoder.hpp"

namespace peercable::http {

/// What a write left behind.
enum class WriteStatus {
  kDone,       // everything queued is on the wire (or in the kernel's buffer)
  kBlocked,    // the socket took less than was offered: wait until it is writable, then write again
  kPeerGone,   // the socket failed (reset, closed): nothing more can be written
  kTlsFailed,  // the TLS session failed while encrypting
};

class OutputQueue {
 public:
  /// Queues `frame` (never empty; shared with other queues: only a reference is held). Returns false when the
  /// backlog is now over `max_backlog` bytes: the caller drops the consumer (drop_unsent, then a close).
  bool push(ws::SharedFrame frame, std::size_t max_backlog) {
    bytes_ += frame->size();
    frames_.push_back(std::move(frame));
    return bytes_ <= max_backlog;
  }

  /// Writes as much as socket `fd` (non-blocking) takes: every queued frame in one sendmsg, or through `tls`
  /// when set, one batch of records at a time. Frames and bytes written are added to `counters`.
  [[gnu::always_inline]] WriteStatus write(int fd, net::TlsSession* tls, net::LoopCounters& counters) {
    return tls ? write_tls(fd, *tls, counters) : write_plain(fd, counters);
  }

  /// Drops the frames nothing of which is sent yet; a frame cut by a partial write stays, so the peer never
  /// sees half a frame followed by another.
  void drop_unsent();
  /// Ciphertext `n` bytes long was added to the TLS session's output outside write() (handshake answers).
  void add_ciphertext(std::size_t n) noexcept { bytes_ += n; }
  /// Forgets everything queued (the connection is closing without it).
  void clear();

  /// The backlog: plaintext queued plus, with TLS, ciphertext produced and not yet sent.
  std::size_t bytes() const noexcept { return bytes_; }
  bool empty() const noexcept { return frames_.empty(); }
  std::size_t frames() const noexcept { return frames_.size(); }

  /// Our last TLS bytes before a half-close: whatever `tls` has unsent (an alert, the rest of a record) and
  /// close_notify, in one best-effort write; a peer that is not reading gets neither.
  static void send_tls_goodbye(int fd, net::TlsSession& tls);

 private:
  [[gnu::always_inline]] WriteStatus write_plain(int fd, net::LoopCounters& counters);
  WriteStatus write_tls(int fd, net::TlsSession& tls, net::LoopCounters& counters);
  bool encrypt_batch(net::TlsSession& tls, net::LoopCounters& counters);
  std::size_t drop_front(std::size_t n);  // drops n bytes from the front; returns whole frames dropped

  static constexpr int kMaxPieces = 64;  // frames gathered per sendmsg or per TLS batch

  net::FrameQueue<ws::SharedFrame> frames_;
  std::size_t front_offset_ = 0;  // bytes of the front frame already written
  std::size_t bytes_ = 0;
};

// Inlined, with write(), into the connection's flush (as when it was part of it): it runs once per connection
// written, in every fan-out; as a call of its own it cost 5-10% more instructions per delivery (bench/callgrind.sh).
inline WriteStatus OutputQueue::write_plain(int fd, net::LoopCounters& counters) {
  while (!frames_.empty()) {
    iovec iov[kMaxPieces];
    int count = 0;
    std::size_t offset = front_offset_;
    std::size_t total = 0;
    for (auto it = frames_.begin(); it != frames_.end() && count < kMaxPieces; ++it, ++count) {
      iov[count].iov_base = const_cast<char*>((*it)->data()) + offset;
      iov[count].iov_len = (*it)->size() - offset;
      total += iov[count].iov_len;
      offset = 0;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<decltype(msg.msg_iovlen)>(count);
    ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return WriteStatus::kBlocked;
      return WriteStatus::kPeerGone;
    }
    const auto n = static_cast<std::size_t>(w);
    counters.bytes_out.fetch_add(n, std::memory_order_relaxed);
    bytes_ -= n;
    if (bytes_ == 0) {
      // The common case: everything queued went out in one write, so the iovec held every frame (none is
      // empty) and its count is the frames written.
      counters.frames_out.fetch_add(static_cast<std::uint64_t>(count), std::memory_order_relaxed);
      frames_.clear();
      front_offset_ = 0;
      return WriteStatus::kDone;
    }
    counters.frames_out.fetch_add(drop_front(n), std::memory_order_relaxed);
    if (n < total) return WriteStatus::kBlocked;
  }
  return WriteStatus::kDone;
}

}  // namespace peercable::http
