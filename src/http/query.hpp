#pragma once
// Reading request targets: percent-decoding (Boost.URL's) and the parameters of a query string. Pure.
#include <optional>
#include <string>
#include <string_view>

namespace peercable::http {

/// Decodes %XX escapes, and '+' as a space when `plus_is_space` (query strings); nullopt for a malformed
/// escape, or for a NUL unless `nul_allowed`.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space, bool nul_allowed = false);

/// The value of the first parameter `name` in `query` (the target after '?'), percent-decoded with '+' as a
/// space; "" for a name without '='; nullopt when absent or badly escaped. Other parameters are not judged:
/// browsers send characters such as '|' and '{' unescaped.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace peercable::http
