#include "app/origin_policy.hpp"

#include <boost/asio/ip/address.hpp>

#include <cctype>

namespace peercable::app {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

OriginPolicy::OriginPolicy(std::string_view mode, std::string_view listen_host, const std::vector<std::string>& allowed)
    : enabled_(mode == "on" || (mode == "auto" && !is_loopback_host(listen_host))) {
  for (const auto& o : allowed) allowed_.push_back(lower(o));
}

bool OriginPolicy::allows(std::string_view origin, std::string_view host) const {
  if (!enabled_) return true;
  if (origin.empty()) return false;  // as Rails: a browser always sends Origin; without one, refused
  std::string o = lower(origin);
  // The server's own origin (Rails' allow_same_origin_as_host), over either scheme: behind a proxy that ends
  // TLS the scheme seen here is not the browser's.
  std::string h = lower(host);
  if (!h.empty() && (o == "http://" + h || o == "https://" + h)) return true;
  for (const auto& allowed : allowed_) {
    if (allowed == "*" || allowed == o) return true;
    // "https://*.example.com" allows every subdomain.
    auto star = allowed.find("://*.");
    if (star != std::string::npos && o.compare(0, star + 3, allowed, 0, star + 3) == 0) {
      std::string_view suffix = std::string_view(allowed).substr(star + 4);  // ".example.com"
      if (o.size() > star + 3 + suffix.size() && std::string_view(o).ends_with(suffix) &&
          o.find('/', star + 3) == std::string::npos)
        return true;
    }
  }
  return false;
}

}  // namespace peercable::app
