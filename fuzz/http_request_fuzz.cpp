// The HTTP request parser as the server configures it, then the WebSocket handshake on what it yields.
#include <boost/beast/http.hpp>

#include <cstdint>
#include <string>

#include "http/upgrade_request.hpp"
#include "ws/handshake.hpp"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(64 * 1024);
    parser.eager(true);
    boost::system::error_code ec;
    std::size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    if (ec || !parser.is_done() || used == 0) return 0;
    input.erase(0, used);
    const auto up = peercable::http::upgrade_request(parser.get());
    auto select = [](const std::vector<std::string_view>& offered) {
      return offered.empty() ? std::string() : std::string(offered.front());
    };
    auto r = peercable::ws::accept_upgrade(up, select, true);
    if (r.accept) (void)peercable::ws::upgrade_response(*r.accept);
  }
  return 0;
}
