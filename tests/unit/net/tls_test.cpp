#include "net/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using peercable::net::TlsContext;
using peercable::net::TlsRead;
using peercable::net::TlsSession;
using peercable::net::TlsSetupError;

namespace {

namespace fs = std::filesystem;

// A self-signed P-256 certificate and its key, written as PEM files in a fresh folder.
struct Credentials {
  fs::path dir, cert, key;

  explicit Credentials(const char* tag) {
    dir = fs::temp_directory_path() / ("peercable-tls-" + std::string(tag) + "-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    cert = dir / "cert.pem";
    key = dir / "key.pem";
    write(cert, key);
  }
  ~Credentials() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  static void write(const fs::path& cert_file, const fs::path& key_file) {
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509_sign(x, pkey, EVP_sha256());
    std::FILE* f = std::fopen(cert_file.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key_file.c_str(), "w");
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
};

// An OpenSSL client over memory BIOs, and a pump that carries bytes between it and a TlsSession.
struct Client {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = nullptr;
  BIO* in = BIO_new(BIO_s_mem());   // what the server sent
  BIO* out = BIO_new(BIO_s_mem());  // what the client sends

  explicit Client(int max_version = 0) {
    if (max_version) {
      SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx, max_version);
      SSL_CTX_set_security_level(ctx, 0);
      SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    }
    ssl = SSL_new(ctx);
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
  }
  ~Client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }

  std::string take_output() {
    std::string s(static_cast<std::size_t>(BIO_ctrl_pending(out)), '\0');
    if (!s.empty()) BIO_read(out, s.data(), static_cast<int>(s.size()));
    return s;
  }
  void give(std::string_view bytes) {
    if (!bytes.empty()) BIO_write(in, bytes.data(), static_cast<int>(bytes.size()));
  }
  std::string read_all() {
    std::string got;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
    return got;
  }
};

// Feeds `bytes` to the server `chunk` bytes at a time and collects the plaintext; the last status is returned.
TlsRead feed(TlsSession& s, std::string_view bytes, std::string& plain, std::size_t chunk = 1 << 20) {
  TlsRead r = TlsRead::kNeedMore;
  std::vector<std::uint8_t> buf(16 * 1024);
  for (std::size_t at = 0; at < bytes.size() || at == 0; at += chunk) {
    auto part = bytes.substr(at, chunk);
    s.feed(reinterpret_cast<const std::uint8_t*>(part.data()), part.size());
    for (;;) {
      std::size_t got = 0;
      r = s.read(buf.data(), buf.size(), got);
      if (r != TlsRead::kData) break;
      plain.append(reinterpret_cast<char*>(buf.data()), got);
    }
    if (r != TlsRead::kNeedMore || bytes.empty()) break;
  }
  return r;
}

// Moves every pending byte between client and server until the handshake is done on both sides.
void handshake(Client& c, TlsSession& s) {
  std::string plain;
  for (int i = 0; i < 10 && !(SSL_is_init_finished(c.ssl) && s.handshake_done()); ++i) {
    SSL_do_handshake(c.ssl);
    ASSERT_EQ(feed(s, c.take_output(), plain), TlsRead::kNeedMore);
    c.give(s.output());
    s.sent(s.output().size());
  }
  ASSERT_TRUE(SSL_is_init_finished(c.ssl));
  ASSERT_TRUE(s.handshake_done());
  ERR_clear_error();
}

// The application-data records in a run of TLS records.
int count_records(std::string_view wire) {
  int n = 0;
  while (wire.size() >= 5) {
    std::size_t len = (static_cast<unsigned char>(wire[3]) << 8) | static_cast<unsigned char>(wire[4]);
    if (wire[0] == 23) ++n;
    wire.remove_prefix(5 + len);
  }
  return n;
}

}  // namespace

TEST(TlsSession, HandshakeThenDataBothWays) {
  Credentials creds("data");
  TlsContext ctx(creds.cert, creds.key);
  auto s = TlsSession::create(ctx);
  ASSERT_TRUE(s);
  Client c;
  handshake(c, *s);

  const std::string request = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  SSL_write(c.ssl, request.data(), static_cast<int>(request.size()));
  std::string plain;
  // One byte at a time: records arrive in pieces, as from a slow socket.
  EXPECT_EQ(feed(*s, c.take_output(), plain, 1), TlsRead::kNeedMore);
  EXPECT_EQ(plain, request);

  std::string_view pieces[] = {"HTTP/1.1 200 OK\r\n", "Content-Length: 2\r\n\r\n", "ok"};
  ASSERT_TRUE(s->write(pieces, 3));
  c.give(s->output());
  s->sent(s->output().size());
  EXPECT_TRUE(s->output().empty());
  EXPECT_EQ(c.read_all(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

TEST(TlsSession, SmallFramesShareRecordsAndLargeOnesAreCutIntoFullRecords) {
  Credentials creds("records");
  TlsContext ctx(creds.cert, creds.key);
  auto s = TlsSession::create(ctx);
  Client c;
  handshake(c, *s);

  std::vector<std::string> frames(100, std::string(50, 'a'));
  std::vector<std::string_view> views(frames.begin(), frames.end());
  ASSERT_TRUE(s->write(views.data(), views.size()));
  EXPECT_EQ(count_records(s->output()), 1);  // 5000 bytes of small frames: one record, one AEAD call

  std::string big(100 * 1024, 'b');
  std::string_view mixed[] = {"head", big, "tail"};
  ASSERT_TRUE(s->write(mixed, 3));
  EXPECT_EQ(count_records(s->output()), 1 + 1 + 7 + 1);

  // Sent in uneven parts, as by partial sends.
  std::string all(s->output());
  for (std::size_t at = 0; at < all.size(); at += 1000) {
    std::size_t n = std::min<std::size_t>(1000, all.size() - at);
    EXPECT_EQ(s->output(), std::string_view(all).substr(at));
    s->sent(n);
  }
  EXPECT_TRUE(s->output().empty());
  c.give(all);
  std::string expected;
  for (auto& f : frames) expected += f;
  expected += "head" + big + "tail";
  EXPECT_EQ(c.read_all(), expected);
}

TEST(TlsSession, CloseNotifyBothWays) {
  Credentials creds("close");
  TlsContext ctx(creds.cert, creds.key);
  auto s = TlsSession::create(ctx);
  Client c;
  handshake(c, *s);
  s->shutdown();
  ASSERT_FALSE(s->output().empty());
  c.give(s->output());
  char buf[16];
  EXPECT_EQ(SSL_read(c.ssl, buf, sizeof buf), 0);
  EXPECT_EQ(SSL_get_error(c.ssl, 0), SSL_ERROR_ZERO_RETURN);

  auto s2 = TlsSession::create(ctx);
  Client c2;
  handshake(c2, *s2);
  SSL_shutdown(c2.ssl);
  std::string plain;
  EXPECT_EQ(feed(*s2, c2.take_output(), plain), TlsRead::kClosed);
}

TEST(TlsSession, NoCloseNotifyBeforeTheHandshake) {
  Credentials creds("early");
  TlsContext ctx(creds.cert, creds.key);
  auto s = TlsSession::create(ctx);
  s->shutdown();  // a handshake timeout: there is no session to close yet
  EXPECT_TRUE(s->output().empty());
  EXPECT_FALSE(s->handshake_done());
}

TEST(TlsSession, PlainHttpFailsTheHandshake) {
  Credentials creds("http");
  TlsContext ctx(creds.cert, creds.key);
  auto s = TlsSession::create(ctx);
  std::string plain;
  EXPECT_EQ(feed(*s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", plain), TlsRead::kFailed);
  ASSERT_NE(s->failure(), nullptr);
  EXPECT_STREQ(s->failure(), "http request");
  EXPECT_TRUE(plain.empty());
  EXPECT_EQ(ERR_peek_error(), 0u) << "the thread's error queue is left empty";
  s->shutdown();  // after a failure: nothing more to say
}

TEST(TlsSession, Tls11ClientGetsAProtocolVersionAlert) {
  Credentials creds("old");
  TlsContext ctx(creds.cert, creds.key);
  auto s = TlsSession::create(ctx);
  Client c(TLS1_1_VERSION);
  SSL_do_handshake(c.ssl);
  std::string plain;
  EXPECT_EQ(feed(*s, c.take_output(), plain), TlsRead::kFailed);
  ASSERT_FALSE(s->output().empty());
  EXPECT_EQ(s->output()[0], 21) << "an alert record";
  ERR_clear_error();
}

TEST(TlsContext, RefusesMismatchedOrUnreadableFiles) {
  Credentials a("ctx-a");
  Credentials b("ctx-b");
  try {
    TlsContext ctx(a.cert, b.key);
    FAIL() << "a key of another certificate was accepted";
  } catch (const TlsSetupError& e) {
    EXPECT_EQ(e.file(), TlsSetupError::File::kKey);
    EXPECT_NE(std::string(e.what()).find("is not the private key"), std::string::npos);
  }
  try {
    TlsContext ctx(a.key, a.key);
    FAIL() << "a key was accepted as a certificate";
  } catch (const TlsSetupError& e) {
    EXPECT_EQ(e.file(), TlsSetupError::File::kCertificate);
  }
  try {
    TlsContext ctx(a.cert, a.cert);
    FAIL() << "a certificate was accepted as a key";
  } catch (const TlsSetupError& e) {
    EXPECT_EQ(e.file(), TlsSetupError::File::kKey);
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}
