#include "ws/handshake.hpp"

#include <gtest/gtest.h>

using namespace peercable::ws;

namespace {
UpgradeRequest good() {
  UpgradeRequest r;
  r.method = "GET";
  r.upgrade = "websocket";
  r.connection = "keep-alive, Upgrade";
  r.key = "dGhlIHNhbXBsZSBub25jZQ==";
  r.version = "13";
  return r;
}
SubprotocolSelector cable = [](const std::vector<std::string_view>& offered) -> std::string {
  for (auto p : offered)
    if (p == "actioncable-v1-json") return std::string(p);
  return {};
};
}  // namespace

TEST(Handshake, Rfc6455SampleAcceptKey) {
  EXPECT_EQ(compute_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, AcceptsAndSelectsSubprotocol) {
  auto req = good();
  req.protocols = "actioncable-v1-json, actioncable-unsupported";
  auto r = accept_upgrade(req, cable, true);
  ASSERT_TRUE(r.accept);
  EXPECT_EQ(r.accept->subprotocol, "actioncable-v1-json");
  EXPECT_FALSE(r.accept->deflate);
  auto resp = upgrade_response(*r.accept);
  EXPECT_NE(resp.find("Sec-WebSocket-Protocol: actioncable-v1-json\r\n"), std::string::npos);
  EXPECT_NE(resp.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
}

TEST(Handshake, NoSubprotocolWhenNoneMatches) {
  auto req = good();
  req.protocols = "foo";
  auto r = accept_upgrade(req, cable, true);
  ASSERT_TRUE(r.accept);
  EXPECT_EQ(r.accept->subprotocol, "");
  EXPECT_EQ(upgrade_response(*r.accept).find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(Handshake, Refusals) {
  auto req = good();
  req.method = "POST";
  EXPECT_EQ(accept_upgrade(req, cable, true).error.status, 405u);
  req = good();
  req.version = "8";
  auto r = accept_upgrade(req, cable, true);
  EXPECT_EQ(r.error.status, 426u);
  EXPECT_EQ(r.error.extra_header, "Sec-WebSocket-Version: 13");
  req = good();
  req.version = "";
  EXPECT_EQ(accept_upgrade(req, cable, true).error.status, 426u);
  req = good();
  req.key = "";
  EXPECT_EQ(accept_upgrade(req, cable, true).error.status, 400u);
  req = good();
  req.key = "not-base64-of-16-bytes";
  EXPECT_EQ(accept_upgrade(req, cable, true).error.status, 400u);
  req = good();
  req.key = "dGhlIHNhbXBsZSBub25jZQ";  // no padding
  EXPECT_EQ(accept_upgrade(req, cable, true).error.status, 400u);
  req = good();
  req.connection = "keep-alive";
  EXPECT_EQ(accept_upgrade(req, cable, true).error.status, 400u);
  req = good();
  req.upgrade = "h2c";
  EXPECT_EQ(accept_upgrade(req, cable, true).error.status, 400u);
  req = good();
  req.http_version = 10;
  EXPECT_EQ(accept_upgrade(req, cable, true).error.status, 400u);
}

TEST(Handshake, HeaderTokensAreCaseInsensitive) {
  auto req = good();
  req.upgrade = "WebSocket";
  req.connection = "UPGRADE";
  EXPECT_TRUE(accept_upgrade(req, cable, true).accept);
}

TEST(Deflate, NegotiatesParameters) {
  DeflateOptions takeover;
  takeover.context_takeover = true;
  auto p = negotiate_deflate("permessage-deflate; client_max_window_bits", takeover);
  ASSERT_TRUE(p);
  EXPECT_EQ(deflate_response(*p), "permessage-deflate");
  p = negotiate_deflate(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->server_no_context_takeover);
  EXPECT_TRUE(p->client_no_context_takeover);
  EXPECT_EQ(p->server_max_window_bits, 10);
  EXPECT_EQ(deflate_response(*p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10");
}

TEST(Deflate, DeclinesBadOffersAndTakesTheNextOne) {
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; unknown_param"));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=16"));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits"));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_no_context_takeover; server_no_context_takeover"));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=8"));
  EXPECT_FALSE(negotiate_deflate("x-webkit-deflate-frame"));
  auto p = negotiate_deflate("permessage-deflate; bogus, permessage-deflate; server_max_window_bits=12");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 12);
  EXPECT_TRUE(accept_upgrade(good(), cable, false).accept);
  auto req = good();
  req.extensions = "permessage-deflate";
  EXPECT_FALSE(accept_upgrade(req, cable, false).accept->deflate);  // turned off by configuration
  EXPECT_TRUE(accept_upgrade(req, cable, true).accept->deflate);
}

// By default neither side keeps context (RFC 7692 §7.1.1.1 and §7.1.1.2 let a server add both to any offer),
// so a connection needs no zlib state of its own.
TEST(Deflate, NoContextTakeoverIsAddedToEveryResponse) {
  // Chromium's offer.
  auto p = negotiate_deflate("permessage-deflate; client_max_window_bits");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->server_no_context_takeover);
  EXPECT_TRUE(p->client_no_context_takeover);
  EXPECT_EQ(deflate_response(*p), "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  // Node ws's and Firefox's bare offer.
  p = negotiate_deflate("permessage-deflate");
  ASSERT_TRUE(p);
  EXPECT_EQ(deflate_response(*p), "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  // A limit on our window is kept and repeated (§7.1.2.1).
  p = negotiate_deflate("permessage-deflate; server_max_window_bits=11; client_max_window_bits=12");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 11);
  EXPECT_EQ(deflate_response(*p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11");
}

TEST(Deflate, ConfiguredWindowFitsTheOffer) {
  DeflateOptions o;
  o.window_bits = 10;
  // Our window may be smaller than the client's limit; it is said only when the client named the parameter.
  auto p = negotiate_deflate("permessage-deflate; server_max_window_bits=12", o);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 10);
  EXPECT_EQ(deflate_response(*p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10");
  p = negotiate_deflate("permessage-deflate", o);
  EXPECT_EQ(p->server_max_window_bits, 10);
  EXPECT_EQ(deflate_response(*p), "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  // With context takeover, a client that offered client_max_window_bits is limited to our window.
  o.context_takeover = true;
  p = negotiate_deflate("permessage-deflate; client_max_window_bits", o);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->server_no_context_takeover);
  EXPECT_EQ(p->client_max_window_bits, 10);
  EXPECT_EQ(deflate_response(*p), "permessage-deflate; client_max_window_bits=10");
  // A client that did not offer it cannot be limited.
  p = negotiate_deflate("permessage-deflate", o);
  EXPECT_EQ(deflate_response(*p), "permessage-deflate");
}

TEST(Deflate, UpgradeResponseCarriesTheFittedParameters) {
  auto req = good();
  req.extensions = "permessage-deflate; client_max_window_bits";
  auto r = accept_upgrade(req, cable, true);
  ASSERT_TRUE(r.accept && r.accept->deflate);
  EXPECT_NE(upgrade_response(*r.accept).find(
                "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"),
            std::string::npos);
}

TEST(Deflate, NoContextTakeoverRoundTrip) {
  DeflateParams p;
  p.server_no_context_takeover = true;
  p.server_max_window_bits = 9;
  Deflater d(p);
  Inflater i(p);
  for (int k = 0; k < 3; ++k) {
    std::string z, back;
    ASSERT_TRUE(d.deflate_message("the same message, again and again", z));
    ASSERT_EQ(i.inflate_message(z, 1 << 20, back), Inflater::Result::kOk);
    EXPECT_EQ(back, "the same message, again and again");
  }
}
