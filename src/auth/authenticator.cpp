#include "auth/authenticator.hpp"

#include <ctime>

namespace peercable::auth {

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto item = header.substr(0, semi);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    auto eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) {
      auto v = item.substr(eq + 1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

}  // namespace peercable::auth

namespace peercable::auth {

void JwtAuthenticator::authenticate(const Credentials& credentials, Done done) {
  Verdict v;
  if (credentials.token.empty()) {
    v.reason = "no token";
  } else {
    auto r = verify_jwt(credentials.token, options_, static_cast<std::int64_t>(std::time(nullptr)));
    if (r.identity) {
      v.outcome = Outcome::kAccepted;
      v.identity = std::move(*r.identity);
    } else {
      v.outcome = Outcome::kRefused;
      v.reason = to_string(r.error);
    }
  }
  done(std::move(v));
}

std::string AuthChain::names() const {
  std::string out;
  for (const auto& a : chain_) {
    if (!out.empty()) out += ", ";
    out += a->name();
  }
  return out;
}

void AuthChain::authenticate(std::shared_ptr<const Credentials> credentials, Result result) const {
  step(0, std::move(credentials), std::make_shared<std::string>(), std::move(result));
}

void AuthChain::step(std::size_t i, std::shared_ptr<const Credentials> credentials, std::shared_ptr<std::string> why,
                     Result result) const {
  if (i == chain_.size()) {
    result(std::nullopt, why->empty() ? std::string("no authenticator configured") : std::move(*why));
    return;
  }
  const Credentials& c = *credentials;
  chain_[i]->authenticate(c, [this, i, credentials, why, result](Verdict v) mutable {
    if (v.outcome == Outcome::kAccepted) {
      result(std::move(v.identity), {});
      return;
    }
    if (!why->empty()) *why += "; ";
    *why += chain_[i]->name();
    *why += ": ";
    *why += v.reason.empty() ? std::string("refused") : v.reason;
    step(i + 1, std::move(credentials), std::move(why), std::move(result));
  });
}

}  // namespace peercable::auth
