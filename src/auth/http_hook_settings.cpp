#include "auth/http_hook_settings.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>

namespace peercable::auth {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Headers peercable writes itself, or that would change how the request is framed.
constexpr std::string_view kReservedHeaders[] = {
    "host",       "accept",  "user-agent", "x-forwarded-for", "content-length", "transfer-encoding", "connection",
    "keep-alive", "upgrade", "te",         "trailer",         "expect"};

}  // namespace

std::string HookUrl::authority() const {
  std::string out;
  if (host.find(':') != std::string::npos) {
    out.append("[").append(host).append("]");
  } else {
    out = host;
  }
  if (port != 80) out.append(":").append(std::to_string(port));
  return out;
}

std::optional<HookUrl> parse_hook_url(std::string_view url, std::string& error) {
  auto scheme_end = url.find("://");
  std::string scheme = scheme_end == std::string_view::npos ? std::string() : lower(url.substr(0, scheme_end));
  if (scheme == "https") {
    error = "https is not supported: give a plain http:// URL to the app on a private network or localhost";
    return std::nullopt;
  }
  if (scheme != "http") {
    error = "must look like http://host:port/path";
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos) {
    error = "must not have a #fragment";
    return std::nullopt;
  }
  auto authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    error = "must not contain user:password@ (peercable sends no credentials of its own)";
    return std::nullopt;
  }
  HookUrl out;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "the IPv6 host lacks its closing ]";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    error_code ec;
    asio::ip::make_address_v6(out.host, ec);
    if (ec) {
      error = "the host is not a valid IPv6 address";
      return std::nullopt;
    }
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "only :port may follow the IPv6 host";
        return std::nullopt;
      }
      has_port = true;
      port = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
    }
    if (!std::all_of(out.host.begin(), out.host.end(), is_host_char)) {
      error = "the host may only have letters, digits, '-', '.' and '_'";
      return std::nullopt;
    }
  }
  if (out.host.empty()) {
    error = "the host is missing";
    return std::nullopt;
  }
  if (has_port) {
    unsigned value = 0;
    bool ok = !port.empty() && port.size() <= 5;
    for (char c : port) {
      if (c < '0' || c > '9') ok = false;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || value == 0 || value > 65535) {
      error = "the port must be a number from 1 to 65535";
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      error = "the path must be ASCII without spaces (percent-encode the rest)";
      return std::nullopt;
    }
  }
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target.assign("/").append(target);
  } else {
    out.target = std::string(target);
  }
  return out;
}

std::optional<std::vector<std::string>> parse_hook_headers(std::string_view list, std::string& error) {
  std::vector<std::string> names;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) continue;
    if (!std::all_of(item.begin(), item.end(), is_token_char)) {
      error = fmt::format("\"{}\" is not a header name", item);
      return std::nullopt;
    }
    std::string name = lower(item);
    if (std::find(std::begin(kReservedHeaders), std::end(kReservedHeaders), name) != std::end(kReservedHeaders)) {
      error = name + " is set by peercable itself and cannot be forwarded";
      return std::nullopt;
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  }
  if (names.empty()) {
    error = "name at least one header to forward (default: cookie,authorization)";
    return std::nullopt;
  }
  return names;
}

std::vector<std::pair<std::string, std::string>> hook_forwarded_headers(const Credentials& credentials,
                                                                        const std::vector<std::string>& names) {
  auto usable = [](std::string_view v) {
    return !v.empty() && v.find_first_of(std::string_view("\r\n\0", 3)) == v.npos;
  };
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& name : names) {
    bool found = false;
    for (const auto& [k, v] : credentials.headers) {
      if (k != name) continue;
      found = true;
      if (usable(v)) out.emplace_back(name, v);
    }
    // The Cookie header is also kept on its own; use it when the caller did not list every header.
    if (!found && name == "cookie" && usable(credentials.cookie_header))
      out.emplace_back(name, credentials.cookie_header);
  }
  return out;
}

std::string hook_cache_key(const std::vector<std::pair<std::string, std::string>>& forwarded) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  // Length prefixes keep ("a", "bc") and ("ab", "c") apart.
  auto add = [ctx](std::string_view s) {
    unsigned char len[4] = {static_cast<unsigned char>(s.size() >> 24), static_cast<unsigned char>(s.size() >> 16),
                            static_cast<unsigned char>(s.size() >> 8), static_cast<unsigned char>(s.size())};
    EVP_DigestUpdate(ctx, len, sizeof len);
    EVP_DigestUpdate(ctx, s.data(), s.size());
  };
  for (const auto& [name, value] : forwarded) {
    add(name);
    add(value);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx, digest, &size);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace peercable::auth
