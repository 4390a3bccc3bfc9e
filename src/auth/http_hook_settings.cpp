#include "auth/http_hook_settings.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>

#include "net/header_text.hpp"

namespace peercable::auth {

namespace urls = boost::urls;

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
  auto fail = [&error](const char* why) -> std::optional<HookUrl> {
    error = why;
    return std::nullopt;
  };
  auto parsed = urls::parse_uri(url);
  if (parsed && parsed->scheme_id() == urls::scheme::https)
    return fail("https is not supported: give a plain http:// URL to the app on a private network or localhost");
  if (!parsed || parsed->scheme_id() != urls::scheme::http || !parsed->has_authority())
    return fail("must look like http://host:port/path (ASCII without spaces: percent-encode the rest)");
  const urls::url_view& u = *parsed;
  if (u.has_fragment()) return fail("must not have a #fragment");
  if (u.has_userinfo()) return fail("must not contain user:password@ (peercable sends no credentials of its own)");
  HookUrl out;
  switch (u.host_type()) {
    case urls::host_type::ipv6: out.host = std::string(u.encoded_host_address()); break;
    case urls::host_type::ipv4:
    case urls::host_type::name: out.host = std::string(u.encoded_host()); break;
    default: return fail("the host is not a name, an IPv4 or an IPv6 address");
  }
  if (out.host.empty()) return fail("the host is missing");
  if (u.host_type() != urls::host_type::ipv6 && !std::all_of(out.host.begin(), out.host.end(), is_host_char))
    return fail("the host may only have letters, digits, '-', '.' and '_'");
  if (u.has_port()) {
    const std::string_view port = u.port();
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || port.size() > 5 || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
        value > 65535)
      return fail("the port must be a number from 1 to 65535");
    out.port = static_cast<std::uint16_t>(value);
  }
  const std::string_view target = u.encoded_target();
  // Boost.URL 1.81 reads "http://[::1]x/" as a path "x/" after the authority; RFC 3986 has it start with '/'.
  if (!target.empty() && target.front() != '/' && target.front() != '?')
    return fail("only :port may follow the host, then /path or ?query");
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
    item = net::trim_ows(item);
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
