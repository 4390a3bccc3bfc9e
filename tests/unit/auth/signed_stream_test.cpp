// Signed stream names as turbo-rails and AnyCable make them. The names are signed by Ruby:
// tests/fixtures/signed_stream.rb runs Debian's ActiveSupport (MessageVerifier, KeyGenerator) at test time,
// and a snapshot of its output is kept in tests/fixtures/signed_stream.json for machines without Ruby.
#include "auth/signed_stream.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "auth/encoding.hpp"
#include "auth/jwt.hpp"
#include "support/run_command.hpp"

using namespace peercable::auth;
using peercable::testing::run_command;

namespace {

const std::string kSourceDir = PEERCABLE_SOURCE_DIR;
const std::string kSecret = "c0ffee5ecret-key-base-for-peercable-signed-stream-tests-0123456789abcdef";

struct RubyNames {
  std::vector<std::string> names, turbo_sha1, turbo_sha256, pubsub, pubsub_urlsafe;
};

RubyNames parse(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(json);
  RubyNames out;
  auto list = [&](const char* key, std::vector<std::string>& v) {
    for (auto e : doc[key].get_array()) v.emplace_back(std::string_view(e));
  };
  list("names", out.names);
  list("turbo_sha1", out.turbo_sha1);
  list("turbo_sha256", out.turbo_sha256);
  list("pubsub", out.pubsub);
  list("pubsub_urlsafe", out.pubsub_urlsafe);
  return out;
}

RubyNames from_ruby() {
  auto out = run_command("ruby " + kSourceDir + "/tests/fixtures/signed_stream.rb --secret-key-base " + kSecret);
  if (!out) throw std::runtime_error("tests/fixtures/signed_stream.rb failed");
  return parse(*out);
}

bool ruby_available() {
  static const bool ok = run_command("ruby -e 'require \"active_support/message_verifier\"' >/dev/null 2>&1").has_value();
  return ok;
}

void check_all(const RubyNames& r) {
  const std::string sha1 = derive_turbo_stream_key(kSecret, RailsKeyDigest::kSha1);
  const std::string sha256 = derive_turbo_stream_key(kSecret, RailsKeyDigest::kSha256);
  ASSERT_FALSE(r.names.empty());
  for (std::size_t i = 0; i < r.names.size(); ++i) {
    SCOPED_TRACE(r.names[i]);
    EXPECT_EQ(verify_signed_stream(r.turbo_sha1[i], sha1).stream, r.names[i]);
    EXPECT_EQ(verify_signed_stream(r.turbo_sha256[i], sha256).stream, r.names[i]);
    EXPECT_EQ(verify_signed_stream(r.pubsub[i], kSecret, true).stream, r.names[i]);
    EXPECT_EQ(verify_signed_stream(r.pubsub_urlsafe[i], kSecret, true).stream, r.names[i]);
    // The wrong key (digest) or the secret itself in place of the derived key: refused.
    EXPECT_FALSE(verify_signed_stream(r.turbo_sha1[i], sha256).stream);
    EXPECT_FALSE(verify_signed_stream(r.turbo_sha256[i], sha1).stream);
    EXPECT_FALSE(verify_signed_stream(r.turbo_sha256[i], kSecret).stream);
    // Our signer writes exactly what MessageVerifier#generate writes.
    EXPECT_EQ(sign_stream_name(r.names[i], sha256), r.turbo_sha256[i]);
  }
}

}  // namespace

TEST(SignedStream, NamesSignedByRuby) {
  if (!ruby_available()) GTEST_SKIP() << "Ruby with ActiveSupport is not installed: scripts/setup.sh";
  check_all(from_ruby());
}

TEST(SignedStream, SnapshotOfRubyOutput) {
  // Written by: ruby tests/fixtures/signed_stream.rb --secret-key-base <kSecret> > tests/fixtures/signed_stream.json
  std::ifstream in(kSourceDir + "/tests/fixtures/signed_stream.json");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  check_all(parse(text.str()));
}

TEST(SignedStream, UrlSafeOnlyWhenAllowed) {
  // "\"~~~\"" encodes to "In5+fiI=" in the standard alphabet and "In5-fiI" in the URL-safe one.
  const std::string json = "\"~~~\"";
  const std::string urlsafe = base64_encode(json, true);
  ASSERT_NE(urlsafe.find_first_of("-_"), std::string::npos);
  const std::string signed_name = urlsafe + "--" + hex_encode(hmac_sha256("k", urlsafe));
  EXPECT_EQ(verify_signed_stream(signed_name, "k", true).stream, "~~~");
  EXPECT_FALSE(verify_signed_stream(signed_name, "k", false).stream);
}

TEST(SignedStream, TamperedAndMalformedNamesAreRefused) {
  const std::string key = "secret";
  const std::string good = sign_stream_name("room:1", key);
  ASSERT_EQ(verify_signed_stream(good, key).stream, "room:1");
  const auto d = good.find("--");
  auto signed_raw = [&](const std::string& data) { return data + "--" + hex_encode(hmac_sha256(key, data)); };
  std::string upper = good;
  for (std::size_t i = d + 2; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  std::string flipped = good;
  flipped[0] = flipped[0] == 'I' ? 'J' : 'I';
  for (const std::string& bad : std::vector<std::string>{
           "", "--", "----", "no-separator", good.substr(0, d), good.substr(0, d + 2), "--" + good.substr(d + 2),
           good.substr(0, good.size() - 1), good + "0", flipped, upper, " " + good,
           std::string(kMaxSignedStreamBytes + 1, 'A'),
           signed_raw("not base64!"),                 // signed, but not Base64
           signed_raw(base64_encode("{\"a\":1}")),     // signed JSON that is not a string
           signed_raw(base64_encode("42")), signed_raw(base64_encode("\"unterminated")),
           signed_raw(base64_encode("\"room\"") + "\n")}) {
    SCOPED_TRACE(bad);
    auto r = verify_signed_stream(bad, key, true);
    EXPECT_FALSE(r.stream);
    EXPECT_STRNE(r.reason, "");
  }
  // As MessageVerifier: only the first two "--" parts count.
  EXPECT_EQ(verify_signed_stream(good + "--ignored", key).stream, "room:1");
}
