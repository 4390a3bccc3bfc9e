#include "net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

namespace peercable::net {

namespace {

// Mozilla's "intermediate" list for TLS 1.2: forward secrecy (ECDHE) and AEAD only. TLS 1.3 keeps OpenSSL's
// default suites (AES-GCM and ChaCha20-Poly1305), which are all AEAD.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr char kGroups[] = "X25519:P-256:P-384";

constexpr std::size_t kRecordPlaintext = std::size_t{16} * 1024;  // the largest TLS record payload (RFC 8446 §5.1)
// Output capacity kept once everything is sent: enough for the usual ping or broadcast, so an idle connection
// does not keep the high-water mark of its last burst.
constexpr std::size_t kKeepOutput = 2048;

// The most specific reason OpenSSL queued, then an empty queue (a stale entry would make the next
// SSL_get_error on this thread report a failure that belongs to another connection).
const char* take_reason(const char* fallback) {
  unsigned long e = ERR_get_error();
  const char* why = e ? ERR_reason_error_string(e) : nullptr;
  ERR_clear_error();
  return why ? why : fallback;
}

// A private key must not prompt on the terminal: an encrypted one is refused. `asked` (a bool) records that
// OpenSSL wanted a passphrase, which is how an encrypted key is told apart from a broken one.
int no_passphrase(char*, int, int, void* asked) {
  if (asked) *static_cast<bool*>(asked) = true;
  return -1;
}

// ALPN (RFC 7301): http/1.1 when the client offers it. A client that offers only other protocols (h2)
// continues without ALPN rather than failing; it then speaks HTTP/1.1 or gives up on its own.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void*) {
  static constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == sizeof kHttp11 && std::memcmp(in + i + 1, kHttp11, len) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

// ---- TlsContext ----------------------------------------------------------------------------------

TlsContext::TlsContext(const std::string& cert_chain_file, const std::string& key_file) {
  using File = TlsSetupError::File;
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!ctx) throw TlsSetupError(File::kCertificate, std::string("cannot set up TLS: ") + take_reason("no memory"));
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_security_level(c, 2);  // 112-bit security: RSA keys of 2048 bits or more, EC keys of 224 or more
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Handshake and record buffers (~34 KB) are freed whenever they are empty: an idle connection keeps none.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  // Resumption through stateless tickets only: no session cache shared (and locked) across loops.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 || SSL_CTX_set1_groups_list(c, kGroups) != 1)
    throw TlsSetupError(File::kCertificate, std::string("cannot set up TLS: ") + take_reason("bad cipher list"));
  SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);
  SSL_CTX_set_default_passwd_cb(c, no_passphrase);

  if (SSL_CTX_use_certificate_chain_file(c, cert_chain_file.c_str()) != 1)
    throw TlsSetupError(File::kCertificate, "cannot load a PEM certificate chain from " + cert_chain_file + " (" +
                                                take_reason("unreadable") + ")");

  std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_file(key_file.c_str(), "r"), &BIO_free);
  if (!in) throw TlsSetupError(File::kKey, "cannot open " + key_file + " (" + take_reason("unreadable") + ")");
  bool asked = false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(in.get(), nullptr, no_passphrase, &asked), &EVP_PKEY_free);
  if (!key) {
    std::string why = take_reason("no key found");
    throw TlsSetupError(File::kKey, asked ? key_file + " is encrypted; give an unencrypted private key"
                                          : "no usable PEM private key in " + key_file + " (" + why + ")");
  }
  X509* leaf = SSL_CTX_get0_certificate(c);
  if (!leaf || X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    throw TlsSetupError(File::kKey, key_file + " is not the private key of the certificate in " + cert_chain_file);
  }
  if (SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1)
    throw TlsSetupError(File::kKey, "cannot use the private key in " + key_file + " (" + take_reason("rejected") + ")");
  ctx_ = ctx.release();
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

// ---- The BIO between OpenSSL and the connection --------------------------------------------------

// One BIO serves both directions. Reads come straight from the bytes the connection fed (the loop's shared
// read buffer: no copy into a BIO of its own); writes append to the session's output, whose capacity we
// trim. BIO_s_mem would copy every input once more and keep its largest buffer for the connection's life.
struct TlsBio {
  static TlsSession& session(BIO* b) { return *static_cast<TlsSession*>(BIO_get_data(b)); }

  static int write(BIO* b, const char* data, std::size_t n, std::size_t* written) {
    session(b).out_.append(data, n);
    *written = n;
    return 1;
  }

  static int read(BIO* b, char* out, std::size_t cap, std::size_t* got) {
    TlsSession& s = session(b);
    BIO_clear_retry_flags(b);
    if (s.in_left_ == 0) {
      BIO_set_retry_read(b);  // OpenSSL reports SSL_ERROR_WANT_READ
      *got = 0;
      return 0;
    }
    std::size_t n = std::min(cap, s.in_left_);
    std::memcpy(out, s.in_, n);
    s.in_ += n;
    s.in_left_ -= n;
    *got = n;
    return 1;
  }

  static long ctrl(BIO* b, int cmd, long, void*) {
    switch (cmd) {
      case BIO_CTRL_FLUSH: return 1;  // written data is already "out": the connection sends it
      case BIO_CTRL_PENDING: return static_cast<long>(session(b).in_left_);
      default: return 0;
    }
  }

  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }

  static const BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "peercable connection");
      BIO_meth_set_write_ex(bm, write);
      BIO_meth_set_read_ex(bm, read);
      BIO_meth_set_ctrl(bm, ctrl);
      BIO_meth_set_create(bm, create);
      return bm;
    }();
    return m;
  }
};

// ---- TlsSession ----------------------------------------------------------------------------------

std::unique_ptr<TlsSession> TlsSession::create(const TlsContext& ctx) {
  SSL* ssl = SSL_new(ctx.native());
  if (!ssl) {
    ERR_clear_error();
    return nullptr;
  }
  std::unique_ptr<TlsSession> s(new TlsSession(ssl));  // private constructor: only this factory makes one
  BIO* bio = BIO_new(TlsBio::method());
  if (!bio) {
    ERR_clear_error();
    return nullptr;  // ~TlsSession frees the SSL
  }
  BIO_set_data(bio, s.get());
  SSL_set_bio(ssl, bio, bio);  // one reference, owned by the SSL from now on
  SSL_set_accept_state(ssl);
  return s;
}

TlsSession::~TlsSession() {
  SSL_free(ssl_);
}

void TlsSession::feed(const std::uint8_t* data, std::size_t n) noexcept {
  in_ = data;
  in_left_ = n;
  // SSL_get_error trusts the thread's error queue: anything left there by other OpenSSL users on this loop
  // (token checks, the auth hook) must not be taken for this connection's failure.
  ERR_clear_error();
}

TlsRead TlsSession::read(std::uint8_t* out, std::size_t cap, std::size_t& size) {
  if (failure_) return TlsRead::kFailed;
  for (;;) {
    const std::size_t before = in_left_;
    std::size_t got = 0;
    if (SSL_read_ex(ssl_, out, cap, &got) == 1) {
      size = got;
      return TlsRead::kData;
    }
    const int err = SSL_get_error(ssl_, 0);
    if (err == SSL_ERROR_WANT_READ) {
      if (in_left_ == 0) return TlsRead::kNeedMore;
      // OpenSSL stopped on a record with nothing for us (a post-handshake message); go on while it consumes.
      if (in_left_ < before) continue;
      failure_ = "input not consumed";
      return TlsRead::kFailed;
    }
    if (err == SSL_ERROR_ZERO_RETURN) return TlsRead::kClosed;
    fail(err);
    return TlsRead::kFailed;
  }
}

bool TlsSession::handshake_done() const noexcept {
  return SSL_is_init_finished(ssl_) == 1;
}

void TlsSession::fail(int ssl_error) {
  failure_ = take_reason(ssl_error == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "TLS failure");
}

bool TlsSession::write_record(const void* data, std::size_t n) {
  std::size_t written = 0;
  if (SSL_write_ex(ssl_, data, n, &written) == 1) return true;
  fail(SSL_get_error(ssl_, 0));
  return false;
}

bool TlsSession::write(const std::string_view* pieces, std::size_t count) {
  if (failure_ || shut_down_) return false;
  ERR_clear_error();
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) total += pieces[i].size();
  // Header, tag and padding per record are under 32 bytes in every suite we allow.
  out_.reserve(out_.size() + total + (total / kRecordPlaintext + 1) * 32);
  // Frames are small and many (a broadcast each): copied side by side they become one record and one AEAD
  // call instead of one each. Large pieces go to OpenSSL directly, which cuts them into records.
  static thread_local char gather[kRecordPlaintext];
  std::size_t fill = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::string_view p = pieces[i];
    if (p.size() >= kRecordPlaintext) {
      if (fill > 0 && !write_record(gather, fill)) return false;
      fill = 0;
      if (!write_record(p.data(), p.size())) return false;
      continue;
    }
    while (!p.empty()) {
      std::size_t n = std::min(p.size(), kRecordPlaintext - fill);
      std::memcpy(gather + fill, p.data(), n);
      fill += n;
      p.remove_prefix(n);
      if (fill == kRecordPlaintext) {
        if (!write_record(gather, fill)) return false;
        fill = 0;
      }
    }
  }
  return fill == 0 || write_record(gather, fill);
}

void TlsSession::shutdown() {
  if (shut_down_ || failure_ || !handshake_done()) return;
  shut_down_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // writes close_notify; we do not wait for the peer's
  ERR_clear_error();
}

void TlsSession::sent(std::size_t n) noexcept {
  out_sent_ += n;
  if (out_sent_ < out_.size()) return;
  out_sent_ = 0;
  if (out_.capacity() > kKeepOutput)
    std::string().swap(out_);
  else
    out_.clear();
}

void TlsSession::discard_output() noexcept {
  std::string().swap(out_);
  out_sent_ = 0;
}

}  // namespace peercable::net
