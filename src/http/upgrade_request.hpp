#pragma once
// The WebSocket handshake's view of a parsed HTTP request.
#include <boost/beast/http.hpp>

#include "ws/handshake.hpp"

namespace peercable::http {

/// Points the handshake's fields at `req`'s headers (valid while `req` lives).
template <class Body>
ws::UpgradeRequest upgrade_request(const boost::beast::http::request<Body>& req) {
  namespace bhttp = boost::beast::http;
  ws::UpgradeRequest up;
  up.method = req.method_string();
  up.http_version = req.version();
  up.upgrade = req[bhttp::field::upgrade];
  up.connection = req[bhttp::field::connection];
  up.key = req[bhttp::field::sec_websocket_key];
  up.version = req[bhttp::field::sec_websocket_version];
  up.protocols = req[bhttp::field::sec_websocket_protocol];
  up.extensions = req[bhttp::field::sec_websocket_extensions];
  return up;
}

}  // namespace peercable::http
