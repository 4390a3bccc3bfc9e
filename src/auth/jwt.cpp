#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <cmath>

#include "auth/encoding.hpp"
#include "json/writer.hpp"
#include "ws/utf8.hpp"

namespace peercable::auth {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

bool read_room_patterns(simdjson::dom::element value, std::vector<std::string>& rooms) {
  simdjson::dom::array list;
  if (value.get(list)) return false;
  std::vector<std::string> out;
  for (auto item : list) {
    std::string_view pattern;
    if (item.get(pattern) || pattern.empty() || pattern.size() > kMaxRoomPatternBytes) return false;
    if (out.size() == kMaxIdentityRooms) return false;
    out.emplace_back(pattern);
  }
  rooms = std::move(out);
  return true;
}

const char* to_string(TokenError e) {
  switch (e) {
    case TokenError::kMalformed: return "malformed token";
    case TokenError::kBadAlgorithm: return "token algorithm is not HS256";
    case TokenError::kBadSignature: return "bad token signature";
    case TokenError::kExpired: return "token expired";
    case TokenError::kNotYetValid: return "token not yet valid";
    case TokenError::kIssuedInFuture: return "token issued in the future";
    case TokenError::kBadIssuer: return "token issuer not accepted";
    case TokenError::kBadAudience: return "token audience not accepted";
    case TokenError::kNoSubject: return "token has no sub claim";
  }
  return "invalid token";
}

TokenResult verify_jwt(std::string_view token, std::string_view secret, std::int64_t now) {
  JwtOptions options;
  options.secret = std::string(secret);
  return verify_jwt(token, options, now);
}

TokenResult verify_jwt(std::string_view token, const JwtOptions& options, std::int64_t now) {
  TokenResult r;
  if (token.size() > 8192) return r;
  auto d1 = token.find('.');
  if (d1 == std::string_view::npos) return r;
  auto d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) return r;
  auto header = base64url_decode(token.substr(0, d1));
  auto payload = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  auto sig = base64url_decode(token.substr(d2 + 1));
  if (!header || !payload || !sig) return r;

  simdjson::dom::parser parser;
  simdjson::dom::element h;
  if (parser.parse(*header).get(h) || !h.is_object()) return r;
  std::string_view alg;
  if (h["alg"].get(alg) || alg != "HS256") {
    r.error = TokenError::kBadAlgorithm;
    return r;
  }
  // Signature before claims: nothing unauthenticated is trusted.
  auto signed_by = [&](std::string_view secret) {
    if (secret.empty()) return false;
    std::string expected = hmac_sha256(secret, token.substr(0, d2));
    return sig->size() == expected.size() && CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) == 0;
  };
  if (!signed_by(options.secret) && !signed_by(options.previous_secret)) {
    r.error = TokenError::kBadSignature;
    return r;
  }
  simdjson::dom::element p;
  if (parser.parse(*payload).get(p) || !p.is_object()) return r;
  auto number = [&](const char* key, double& out) {
    auto v = p[key];
    if (v.error()) return false;
    double d;
    if (v.get(d)) return false;
    out = d;
    return true;
  };
  const double t = static_cast<double>(now);
  const double leeway = static_cast<double>(options.leeway);
  double exp = 0, nbf = 0, iat = 0;
  if (p["exp"].error() == simdjson::SUCCESS) {
    if (!number("exp", exp)) return r;
    if (t >= exp + leeway) {
      r.error = TokenError::kExpired;
      return r;
    }
  }
  if (p["nbf"].error() == simdjson::SUCCESS) {
    if (!number("nbf", nbf)) return r;
    if (t < nbf - leeway) {
      r.error = TokenError::kNotYetValid;
      return r;
    }
  }
  if (p["iat"].error() == simdjson::SUCCESS) {
    if (!number("iat", iat)) return r;
    if (t < iat - leeway) {
      r.error = TokenError::kIssuedInFuture;
      return r;
    }
  }
  if (!options.issuer.empty()) {
    std::string_view iss;
    if (p["iss"].get(iss) || iss != options.issuer) {
      r.error = TokenError::kBadIssuer;
      return r;
    }
  }
  if (!options.audience.empty()) {
    bool found = false;
    std::string_view aud;
    simdjson::dom::array auds;
    if (p["aud"].get(aud) == simdjson::SUCCESS) {
      found = aud == options.audience;
    } else if (p["aud"].get(auds) == simdjson::SUCCESS) {
      for (auto a : auds)
        if (a.get(aud) == simdjson::SUCCESS && aud == options.audience) found = true;
    }
    if (!found) {
      r.error = TokenError::kBadAudience;
      return r;
    }
  }
  Identity who;
  auto sub = p["sub"];
  std::string_view s;
  std::int64_t si;
  if (sub.get(s) == simdjson::SUCCESS) {
    who.id = std::string(s);
  } else if (sub.get(si) == simdjson::SUCCESS) {
    who.id = std::to_string(si);
  }
  if (who.id.empty() || who.id.size() > 128) {
    r.error = TokenError::kNoSubject;
    return r;
  }
  std::string_view name;
  if (p["name"].get(name) == simdjson::SUCCESS && !name.empty()) who.name = std::string(ws::utf8_prefix(name, 80));
  if (who.name.empty()) who.name = who.id;
  bool guest = false;
  if (p["guest"].get(guest) == simdjson::SUCCESS) who.guest = guest;
  if (auto rooms = p["rooms"]; rooms.error() == simdjson::SUCCESS && !read_room_patterns(rooms.value_unsafe(), who.rooms))
    return r;  // a malformed grant is refused, never half-read
  r.identity = std::move(who);
  return r;
}

std::string sign_jwt(const Identity& who, std::string_view secret, std::int64_t now, std::int64_t ttl_seconds) {
  JwtOptions options;
  options.secret = std::string(secret);
  return sign_jwt(who, options, now, ttl_seconds);
}

std::string sign_jwt(const Identity& who, const JwtOptions& options, std::int64_t now, std::int64_t ttl_seconds) {
  std::string claims;
  json::ObjectWriter w(claims);
  w.key("sub").str(who.id).key("name").str(who.name).key("iat").num(now).key("exp").num(now + ttl_seconds);
  if (who.guest) w.key("guest").boolean(true);
  if (!options.issuer.empty()) w.key("iss").str(options.issuer);
  if (!options.audience.empty()) w.key("aud").str(options.audience);
  w.end();
  return sign_jwt_claims(claims, options.secret);
}

std::string sign_jwt_claims(std::string_view claims_json, std::string_view secret) {
  std::string head = base64_encode(R"({"alg":"HS256","typ":"JWT"})", true) + "." + base64_encode(claims_json, true);
  return head + "." + base64_encode(hmac_sha256(secret, head), true);
}

}  // namespace peercable::auth
