#include "http/query.hpp"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/pct_string_view.hpp>

namespace peercable::http {

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space, bool nul_allowed) {
  auto escaped = boost::urls::make_pct_string_view(s);
  if (!escaped) return std::nullopt;
  std::string out = escaped->decode(boost::urls::encoding_opts(plus_is_space));
  if (!nul_allowed && out.find('\0') != std::string::npos) return std::nullopt;
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace peercable::http
