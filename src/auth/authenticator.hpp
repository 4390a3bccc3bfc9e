#pragma once
// Sign-in of a WebSocket connection: one or more authenticators tried in order. Each looks at the
// credentials the upgrade request carried and says accepted (with an identity), refused (with a reason
// that is logged, never sent to the client), or absent (it found no credential of its kind).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/jwt.hpp"

namespace peercable::auth {

/// What the upgrade request carried.
struct Credentials {
  std::string token;          // ?token=, else Authorization: Bearer, else the peercable_token cookie
  std::string cookie_header;  // the whole Cookie header
  std::vector<std::pair<std::string, std::string>> headers;  // every request header, names lower-case
  std::string remote_address;

  /// The value of header `name` (lower-case), or empty.
  std::string_view header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

enum class Outcome { kAbsent, kAccepted, kRefused };

struct Verdict {
  Outcome outcome = Outcome::kAbsent;
  Identity identity;   // when accepted
  std::string reason;  // when refused or absent: for the log only
};

using Done = std::function<void(Verdict)>;

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  /// Short name for logs and config ("jwt", "rails-cookie", "http").
  virtual std::string_view name() const = 0;
  /// Calls `done` exactly once, on the calling event loop's thread: before returning, or later. Shared by
  /// every loop, so it must be safe to call from several threads at once.
  virtual void authenticate(const Credentials& credentials, Done done) = 0;
};

/// The value of cookie `name` in a Cookie header, as sent (not decoded).
std::string_view cookie_value(std::string_view header, std::string_view name);

/// HS256 tokens from Credentials::token (name "jwt").
class JwtAuthenticator final : public Authenticator {
 public:
  explicit JwtAuthenticator(JwtOptions options) : options_(std::move(options)) {}
  std::string_view name() const override { return "jwt"; }
  void authenticate(const Credentials& credentials, Done done) override;

 private:
  JwtOptions options_;
};

/// The authenticators in their configured order: the first to accept signs the connection in.
class AuthChain {
 public:
  /// `identity` is empty when none accepted; `why` then joins each authenticator's reason, for the log.
  using Result = std::function<void(std::optional<Identity> identity, std::string why)>;

  void add(std::unique_ptr<Authenticator> a) { chain_.push_back(std::move(a)); }
  bool empty() const noexcept { return chain_.empty(); }
  std::string names() const;
  /// Tries each in turn; `result` is called once, on the calling loop's thread (maybe later).
  void authenticate(std::shared_ptr<const Credentials> credentials, Result result) const;

 private:
  void step(std::size_t i, std::shared_ptr<const Credentials> credentials, std::shared_ptr<std::string> why,
            Result result) const;
  std::vector<std::unique_ptr<Authenticator>> chain_;
};

}  // namespace peercable::auth
