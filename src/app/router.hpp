#pragma once
// HTTP routes: /cable (upgrade), /health, /metrics, POST /session, POST /broadcast, GET /ice-servers,
// static files at /.
#include "http/connection.hpp"

namespace peercable::cable {
struct LoopState;
}

namespace peercable::app {

class App;

class AppRouter final : public http::Router {
 public:
  AppRouter(App& app, cable::LoopState& loop) : app_(app), loop_(loop) {}
  http::RouteResult route(http::Connection& conn, http::Request& req) override;

 private:
  http::RouteResult cable(http::Connection& conn, http::Request& req, std::string_view query);
  http::Response session(http::Connection& conn, http::Request& req);
  http::Response broadcast(http::Request& req);
  http::Response ice_servers(http::Request& req);

  App& app_;
  cable::LoopState& loop_;
};

}  // namespace peercable::app
