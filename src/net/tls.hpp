#pragma once
// TLS over memory: the server's SSL_CTX, and one SSL per connection that never touches a socket. The
// connection feeds it the ciphertext it read and sends the ciphertext it produced, so the plain path keeps
// its own I/O untouched and a connection without TLS pays nothing.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;

namespace peercable::net {

/// A certificate chain or private key that cannot be used; file() says which of the two is at fault.
class TlsSetupError : public std::runtime_error {
 public:
  enum class File { kCertificate, kKey };
  TlsSetupError(File file, const std::string& what) : std::runtime_error(what), file_(file) {}
  File file() const noexcept { return file_; }

 private:
  File file_;
};

/// The server side of TLS, shared by every loop: TLS 1.2 minimum, ECDHE with AEAD ciphers only for 1.2 and
/// OpenSSL's TLS 1.3 suites, no compression, no renegotiation, stateless session tickets, ALPN http/1.1.
class TlsContext {
 public:
  /// Loads a PEM certificate chain (leaf first) and its unencrypted PEM private key; throws TlsSetupError
  /// naming the file at fault when either cannot be read or parsed, or when they do not belong together.
  TlsContext(const std::string& cert_chain_file, const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

/// What TlsSession::read produced.
enum class TlsRead {
  kData,      // plaintext was written to the caller's buffer
  kNeedMore,  // every fed byte is consumed; feed more ciphertext
  kClosed,    // the peer sent close_notify
  kFailed,    // handshake failure or a bad record; failure() says why, output() may hold an alert to send
};

/// One connection's TLS state over memory, server side. Input: ciphertext fed from the socket, read out as
/// plaintext (the handshake is driven on the way). Output: plaintext written in, ciphertext taken out and
/// sent by the caller. Handshake buffers are released once idle (SSL_MODE_RELEASE_BUFFERS).
class TlsSession {
 public:
  /// A new server-side session, or nullptr when OpenSSL cannot allocate one.
  static std::unique_ptr<TlsSession> create(const TlsContext& ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  /// Makes `n` received bytes available to read(). They are not copied: keep them valid and call read()
  /// until it returns something other than kData.
  void feed(const std::uint8_t* data, std::size_t n) noexcept;
  /// Drives the handshake, then decrypts into `out` (up to `cap` bytes; `size` gets the count on kData).
  TlsRead read(std::uint8_t* out, std::size_t cap, std::size_t& size);
  bool handshake_done() const noexcept;

  /// Encrypts `count` pieces of application data in order, coalescing small ones into full-size records;
  /// the ciphertext is appended to output(). Returns false if the session has failed.
  bool write(const std::string_view* pieces, std::size_t count);
  /// Queues close_notify, once: only after a completed handshake and never after a failure.
  void shutdown();

  /// Ciphertext produced and not yet sent.
  std::string_view output() const noexcept { return std::string_view(out_).substr(out_sent_); }
  /// The first `n` bytes of output() were sent.
  void sent(std::size_t n) noexcept;
  /// Drops unsent output (the connection is closing without it).
  void discard_output() noexcept;

  /// Why the session failed (OpenSSL's reason), or nullptr while it has not.
  const char* failure() const noexcept { return failure_; }

 private:
  friend struct TlsBio;
  explicit TlsSession(SSL* ssl) : ssl_(ssl) {}
  void fail(int ssl_error);
  bool write_record(const void* data, std::size_t n);

  SSL* ssl_;
  const std::uint8_t* in_ = nullptr;  // fed ciphertext not yet taken by OpenSSL
  std::size_t in_left_ = 0;
  std::string out_;  // ciphertext; out_[0, out_sent_) is already on the wire
  std::size_t out_sent_ = 0;
  const char* failure_ = nullptr;
  bool shut_down_ = false;
};

}  // namespace peercable::net
