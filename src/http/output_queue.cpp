#include "http/output_queue.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <string_view>

namespace peercable::http {

namespace {
constexpr std::size_t kTlsBatch = std::size_t{64} * 1024;  // encrypted per write: what a slow reader can pin
}  // namespace

// With TLS, queued frames become records one batch at a time, and a batch is encrypted only once the one before
// is on the wire: a slow reader pins at most one batch of ciphertext, the rest stays as shared frames. The
// backlog counts both (plaintext queued + ciphertext unsent), so the slow-consumer limit means the same.
WriteStatus OutputQueue::write_tls(int fd, net::TlsSession& tls, net::LoopCounters& counters) {
  for (;;) {
    if (tls.output().empty()) {
      if (frames_.empty()) return WriteStatus::kDone;
      if (!encrypt_batch(tls, counters)) return WriteStatus::kTlsFailed;
    }
    const std::string_view out = tls.output();
    ssize_t w = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return WriteStatus::kBlocked;
      return WriteStatus::kPeerGone;
    }
    tls.sent(static_cast<std::size_t>(w));
    counters.bytes_out.fetch_add(static_cast<std::uint64_t>(w), std::memory_order_relaxed);
    bytes_ -= static_cast<std::size_t>(w);
    if (static_cast<std::size_t>(w) < out.size()) return WriteStatus::kBlocked;
  }
}

// Moves up to one batch from the front of the queue into TLS records; a frame cut at the batch end keeps its
// rest at the front. Returns false if the session has failed.
bool OutputQueue::encrypt_batch(net::TlsSession& tls, net::LoopCounters& counters) {
  std::string_view pieces[kMaxPieces];
  std::size_t count = 0;
  std::size_t taken = 0;
  std::size_t offset = front_offset_;
  for (auto it = frames_.begin(); it != frames_.end() && count < kMaxPieces && taken < kTlsBatch; ++it, ++count) {
    std::string_view p(**it);
    p.remove_prefix(offset);
    offset = 0;
    pieces[count] = p.substr(0, kTlsBatch - taken);
    taken += pieces[count].size();
  }
  const std::size_t out_before = tls.output().size();
  if (!tls.write(pieces, count)) return false;
  bytes_ += tls.output().size() - out_before;
  bytes_ -= taken;
  const std::size_t done = drop_front(taken);
  counters.frames_out.fetch_add(done, std::memory_order_relaxed);
  return true;
}

std::size_t OutputQueue::drop_front(std::size_t n) {
  std::size_t whole = 0;
  while (n > 0 && !frames_.empty()) {
    std::size_t left = frames_.front()->size() - front_offset_;
    if (n < left) {
      front_offset_ += n;
      break;
    }
    n -= left;
    front_offset_ = 0;
    frames_.pop_front();
    ++whole;
  }
  return whole;
}

void OutputQueue::drop_unsent() {
  while (frames_.size() > (front_offset_ > 0 ? 1u : 0u)) {
    bytes_ -= frames_.back()->size();
    frames_.pop_back();
  }
}

void OutputQueue::clear() {
  frames_.clear();
  bytes_ = front_offset_ = 0;
}

void OutputQueue::send_tls_goodbye(int fd, net::TlsSession& tls) {
  tls.shutdown();
  const std::string_view out = tls.output();
  if (!out.empty()) {
    [[maybe_unused]] ssize_t w = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  tls.discard_output();
}

}  // namespace peercable::http
