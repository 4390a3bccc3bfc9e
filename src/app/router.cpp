#include "app/router.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <ctime>

#include "app/admin.hpp"
#include "app/app.hpp"
#include "auth/encoding.hpp"
#include "auth/jwt.hpp"
#include "auth/turn_credentials.hpp"
#include "cable/session.hpp"
#include "http/query.hpp"
#include "http/upgrade_request.hpp"
#include "json/writer.hpp"
#include "net/loggable.hpp"

namespace peercable::app {
namespace bhttp = boost::beast::http;
namespace {

using http::Response;
namespace bhttp = boost::beast::http;

Response json_response(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response error(unsigned status, std::string_view message) {
  return json_response(status, http::json_error(message));
}

// 405 naming the methods the path takes.
Response method_not_allowed(std::string_view allow) {
  Response r = error(405, "method not allowed; use " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

std::string random_bytes(std::size_t n) {
  std::string raw(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n));
  return raw;
}

}  // namespace

http::RouteResult AppRouter::route(http::Connection& conn, http::Request& req) {
  http::RouteResult result;
  std::string_view target = req.target();
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  std::string_view query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
  const auto method = req.method();

  if (path == app_.config().cable_path || path == app_.config().cable_path + "/") {
    if (ws::wants_websocket(req[bhttp::field::upgrade])) return cable(conn, req, query);
    // What Rails answers to a plain HTTP request on its cable path.
    result.response.status = 404;
    result.response.content_type = "text/plain";
    result.response.body = "Page not found";
    result.response.headers.emplace_back("Cache-Control", "no-cache");
    return result;
  }
  if (path == "/health") {
    if (method != bhttp::verb::get && method != bhttp::verb::head) {
      result.response = method_not_allowed("GET, HEAD");
      return result;
    }
    // 503 while draining: load balancers take the node out of rotation.
    result.response = json_response(app_.draining() ? 503 : 200, app_.health_json());
    return result;
  }
  if (path == "/metrics") {
    result.response = json_response(200, app_.metrics_text());
    result.response.content_type = "text/plain; version=0.0.4";
    return result;
  }
  if (Admin::owns(path)) {
    result.response = app_.admin().handle(path, req);
    return result;
  }
  if (path == "/broadcast") {
    if (method != bhttp::verb::post) {
      result.response = method_not_allowed("POST");
      return result;
    }
    result.response = broadcast(req);
    return result;
  }
  if (path == "/ice-servers") {
    if (method != bhttp::verb::get) {
      result.response = method_not_allowed("GET");
      return result;
    }
    result.response = ice_servers(req);
    return result;
  }
  if (path == "/session") {
    if (method != bhttp::verb::post) {
      result.response = method_not_allowed("POST");
      return result;
    }
    result.response = session(conn, req);
    return result;
  }
  if (method != bhttp::verb::get && method != bhttp::verb::head) {
    result.response = method_not_allowed("GET, HEAD");
    return result;
  }
  const http::StaticFile* file = app_.files().find(path);
  if (!file) {
    if (path == "/" && !app_.files().available()) {
      result.response.content_type = "text/html; charset=utf-8";
      result.response.body =
          "<!doctype html><title>peercable</title><h1>peercable is running</h1>"
          "<p>The web client is not built; run <code>scripts/setup.sh</code>.</p>";
      return result;
    }
    result.response = error(404, "not found");
    return result;
  }
  result.response.content_type = file->content_type;
  result.response.headers.emplace_back("Cache-Control", "no-cache");
  result.response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  result.response.headers.emplace_back("ETag", file->etag);
  // Served from memory (loaded at start); a revalidation that matches costs no body.
  if (req[bhttp::field::if_none_match] == file->etag) {
    result.response.status = 304;
    result.response.content_type.clear();
    return result;
  }
  if (method != bhttp::verb::head) result.response.body = file->body;
  return result;
}

namespace {
constexpr std::string_view kExtProtocol = "actioncable-v1-ext-json";
}  // namespace

http::RouteResult AppRouter::cable(http::Connection& conn, http::Request& req, std::string_view query) {
  http::RouteResult result;
  if (app_.draining()) {
    result.response = error(503, "server is restarting; connect again");
    result.response.headers.emplace_back("Retry-After", "1");
    result.response.close = true;
    return result;
  }
  // Cross-site WebSocket hijacking: a page on another site must not open a socket with our users' cookies.
  if (!app_.origin_allowed(req[bhttp::field::origin], req[bhttp::field::host])) {
    net::count_refusal(net::Limit::kOrigin);
    spdlog::info("refused a WebSocket from {}: origin {} is not allowed", conn.remote_address(),
                 net::loggable(req[bhttp::field::origin]));
    result.response = error(403, "origin not allowed");
    result.response.close = true;
    return result;
  }
  const ws::UpgradeRequest up = http::upgrade_request(req);
  // As Rails: the first offered protocol the server supports; none offered or none supported is no header.
  // The extended protocol (AnyCable's) is one of them: its client offers it alone.
  auto select = [](const std::vector<std::string_view>& offered) -> std::string {
    for (auto p : offered)
      if (p == "actioncable-v1-json" || p == "actioncable-unsupported" || p == kExtProtocol) return std::string(p);
    return {};
  };
  const Config& cfg = app_.config();
  const ws::DeflateOptions deflate{static_cast<int>(cfg.deflate_window_bits), static_cast<int>(cfg.deflate_mem_level),
                                   cfg.deflate_context_takeover};
  auto hs = ws::accept_upgrade(up, select, cfg.deflate, deflate);
  if (!hs.accept) {
    result.response = error(hs.error.status, hs.error.message);
    if (!hs.error.extra_header.empty()) {
      auto colon = hs.error.extra_header.find(':');
      result.response.headers.emplace_back(hs.error.extra_header.substr(0, colon),
                                           hs.error.extra_header.substr(colon + 2));
    }
    result.response.close = true;
    return result;
  }
  // Sign-in credentials: the token from ?token=, else Authorization: Bearer, else the peercable_token
  // cookie; and the headers other authenticators look at.
  auto credentials = std::make_shared<auth::Credentials>();
  if (auto t = http::query_param(query, "token")) credentials->token = std::move(*t);
  if (credentials->token.empty()) {
    std::string_view authz = req[bhttp::field::authorization];
    if (authz.size() > 7 && (authz.substr(0, 7) == "Bearer " || authz.substr(0, 7) == "bearer "))
      credentials->token = std::string(authz.substr(7));
  }
  std::string_view cookies = req[bhttp::field::cookie];
  if (credentials->token.empty()) credentials->token = std::string(auth::cookie_value(cookies, "peercable_token"));
  credentials->cookie_header = std::string(cookies);
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    credentials->headers.emplace_back(std::move(name), std::string(field.value()));
  }
  credentials->remote_address = conn.remote_address();
  auto session = std::make_unique<cable::CableSession>(app_.cable(), loop_, conn);
  if (hs.accept->subprotocol == kExtProtocol) {
    // A session to take over: ?sid=, else the X-AnyCable-Restore-Sid header; an empty one is none.
    std::string sid = http::query_param(query, "sid").value_or("");
    if (sid.empty()) sid = std::string(req["X-AnyCable-Restore-Sid"]);
    if (sid.size() > 64) sid.clear();
    session->set_extended(std::move(sid));
  }
  session->authenticate(app_.auth(), std::move(credentials));
  result.upgrade = std::move(hs.accept);
  result.session = std::move(session);
  return result;
}

http::Response AppRouter::broadcast(http::Request& req) {
  const std::string& key = app_.config().broadcast_key;
  if (key.empty()) return error(404, "the broadcast API is off (start with --broadcast-key)");
  std::string_view authz = req[bhttp::field::authorization];
  std::string_view given = authz.size() > 7 && authz.substr(0, 7) == "Bearer " ? authz.substr(7) : std::string_view{};
  if (given.size() != key.size() || CRYPTO_memcmp(given.data(), key.data(), key.size()) != 0) {
    auto r = error(401, "missing or wrong broadcast key (Authorization: Bearer <key>)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(req.body()).get(doc))
    return error(400, "body must be JSON: {\"stream\":\"…\",\"data\":…} or {\"broadcasts\":[…]}");
  // One broadcast, or a batch; every item is checked before any is published.
  std::vector<simdjson::dom::element> items;
  simdjson::dom::array batch;
  if (doc["broadcasts"].get(batch) == simdjson::SUCCESS) {
    for (auto item : batch) items.push_back(item);
  } else if (doc.get(batch) == simdjson::SUCCESS) {
    for (auto item : batch) items.push_back(item);
  } else {
    items.push_back(doc);
  }
  if (items.empty()) return error(400, "no broadcasts given");
  if (items.size() > 1000) return error(400, "at most 1000 broadcasts per request");
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string where = items.size() > 1 ? " (broadcast " + std::to_string(i) + ")" : std::string();
    std::string_view stream;
    if (!items[i].is_object() || items[i]["stream"].get(stream)) return error(400, "stream must be a string" + where);
    if (stream.empty() || stream.size() > 256) return error(400, "stream must be 1-256 bytes" + where);
    simdjson::dom::element data;
    if (items[i]["data"].get(data)) return error(400, "data is missing" + where);
    std::string payload;
    json::append_value(payload, data);
    out.emplace_back(std::string(stream), std::move(payload));
  }
  for (auto& [stream, payload] : out) app_.cable().broadcast(stream, std::move(payload));
  std::string body = "{\"accepted\":" + std::to_string(out.size()) + "}";
  return json_response(202, std::move(body));
}

http::Response AppRouter::ice_servers(http::Request& req) {
  // The same sign-in token the page opens /cable with; TURN credentials go only to signed-in users, since
  // anyone holding them can relay traffic through the operator's TURN server until they expire.
  std::string_view authz = req[bhttp::field::authorization];
  std::string_view token = authz.size() > 7 && (authz.substr(0, 7) == "Bearer " || authz.substr(0, 7) == "bearer ")
                               ? authz.substr(7)
                               : std::string_view{};
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto verified = auth::verify_jwt(token, app_.jwt(), now);
  if (!verified.identity) {
    auto r = error(401, "sign in first: send the sign-in token as Authorization: Bearer <token>");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  const Config& config = app_.config();
  std::string out;
  json::ObjectWriter w(out);
  w.key("iceServers");
  out += '[';
  bool first = true;
  auto urls = [&](const std::vector<std::string>& list) {
    out += '[';
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i) out += ',';
      json::append_string(out, list[i]);
    }
    out += ']';
  };
  if (auto stun = split_list(config.stun_urls); !stun.empty()) {
    out += "{\"urls\":";
    urls(stun);
    out += '}';
    first = false;
  }
  if (auto turn = split_list(config.turn_urls); !turn.empty()) {
    auto minted = auth::mint_turn_credentials(config.turn_secret, verified.identity->id, now, config.turn_ttl);
    if (!first) out += ',';
    out += "{\"urls\":";
    urls(turn);
    out += ",\"username\":";
    json::append_string(out, minted.username);
    out += ",\"credential\":";
    json::append_string(out, minted.credential);
    out += '}';
  }
  out += ']';
  w.key("ttl").num(static_cast<std::int64_t>(config.turn_ttl));
  w.end();
  return json_response(200, std::move(out));
}

http::Response AppRouter::session(http::Connection& conn, http::Request& req) {
  if (!app_.config().guests) return error(403, "guest sign-in is turned off");
  boost::system::error_code ec;
  auto peer = boost::asio::ip::make_address(conn.remote_address(), ec);
  if (!ec && !app_.guest_limits().take(peer, net::IpLimits::Clock::now())) {
    net::count_refusal(net::Limit::kGuestSignins);
    auto r = error(429, "too many guest sign-ins from your address; retry in a minute");
    r.headers.emplace_back("Retry-After", "60");
    return r;
  }
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view name;
  const std::string& body = req.body();
  if (parser.parse(body).get(doc) || !doc.is_object())
    return error(400, "body must be a JSON object like {\"name\":\"Alice\"}");
  if (doc["name"].get(name)) return error(400, "name must be a string");
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  std::size_t chars = 0;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7F) return error(400, "name must not contain control characters");
    if ((c & 0xC0) != 0x80) ++chars;
  }
  if (chars == 0) return error(400, "name must not be empty");
  if (chars > 40) return error(400, "name must be at most 40 characters");
  auth::Identity who{"g_" + auth::hex_encode(random_bytes(8)), std::string(name)};
  who.guest = true;  // the token says so: guests may join public rooms only
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::string token = auth::sign_jwt(who, app_.jwt(), now, 24 * 3600);
  std::string out;
  json::ObjectWriter w(out);
  w.key("token").str(token).key("user");
  {
    json::ObjectWriter u(out);
    u.key("id").str(who.id).key("name").str(who.name);
    u.end();
  }
  w.end();
  return json_response(200, std::move(out));
}

}  // namespace peercable::app
