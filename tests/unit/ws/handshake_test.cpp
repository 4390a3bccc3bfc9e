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
  auto p = negotiate_deflate("permessage-deflate; client_max_window_bits");
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
