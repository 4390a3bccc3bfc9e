#include "app/erb_env.hpp"

namespace peercable::app {
namespace {

// A cursor over one tag's Ruby expression: skips spaces, takes literal tokens and quoted strings.
struct Scanner {
  std::string_view s;
  std::size_t pos = 0;

  void spaces() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) ++pos;
  }
  bool take(std::string_view token) {
    spaces();
    if (s.substr(pos, token.size()) != token) return false;
    pos += token.size();
    return true;
  }
  // A '…' or "…" literal without escapes or interpolation (what config files hold).
  std::optional<std::string> quoted() {
    spaces();
    if (pos >= s.size() || (s[pos] != '"' && s[pos] != '\'')) return std::nullopt;
    const char q = s[pos];
    const auto end = s.find(q, pos + 1);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view body = s.substr(pos + 1, end - pos - 1);
    if (body.find('\\') != std::string_view::npos || (q == '"' && body.find("#{") != std::string_view::npos))
      return std::nullopt;
    pos = end + 1;
    return std::string(body);
  }
  bool done() {
    spaces();
    return pos == s.size();
  }
};

// Evaluates one `<%= … %>` expression.
std::optional<std::string> evaluate(std::string_view expr, const EnvLookup& env, std::string& error) {
  Scanner sc{expr};
  if (sc.take("ENV[")) {
    auto name = sc.quoted();
    if (name && sc.take("]") && sc.done()) return env(*name).value_or("");
  } else if (sc.take("ENV.fetch(")) {
    auto name = sc.quoted();
    if (name) {
      std::optional<std::string> fallback;
      bool ok = false;
      if (sc.take(",")) {
        fallback = sc.quoted();
        ok = fallback && sc.take(")") && sc.done();
      } else if (sc.take(")")) {
        if (sc.take("{")) {
          fallback = sc.quoted();
          ok = fallback && sc.take("}") && sc.done();
        } else {
          ok = sc.done();
        }
      }
      if (ok) {
        if (auto v = env(*name)) return v;
        if (fallback) return fallback;
        error = "environment variable " + *name + " is not set (ENV.fetch without a default)";
        return std::nullopt;
      }
    }
  }
  error = "only ENV[\"NAME\"] and ENV.fetch(\"NAME\"[, default]) can be evaluated inside <%= %>, not: " +
          std::string(expr.substr(0, 80));
  return std::nullopt;
}

}  // namespace

ErbResult expand_env_erb(std::string_view text, const EnvLookup& env) {
  ErbResult r;
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto open = text.find("<%", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, open - pos));
    const auto close = text.find("%>", open + 2);
    if (close == std::string_view::npos) {
      r.error = "an ERB tag <% is not closed with %>";
      return r;
    }
    std::string_view inner = text.substr(open + 2, close - open - 2);
    pos = close + 2;
    if (!inner.empty() && inner.front() == '#') continue;  // a comment
    if (inner.empty() || inner.front() != '=') {
      r.error = "only <%= %> output tags with ENV lookups are supported, not <% code %>";
      return r;
    }
    inner.remove_prefix(1);
    if (!inner.empty() && inner.back() == '-') inner.remove_suffix(1);  // <%= … -%>
    auto value = evaluate(inner, env, r.error);
    if (!value) return r;
    out += *value;
  }
  r.text = std::move(out);
  return r;
}

}  // namespace peercable::app
