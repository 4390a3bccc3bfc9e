#pragma once
// Which pages may open a WebSocket: the Origin check of --origin-check and --allowed-origins. Pure.
#include <string>
#include <string_view>
#include <vector>

namespace peercable::app {

class OriginPolicy {
 public:
  /// `mode` is --origin-check (on, off or auto: on unless `listen_host` is a loopback address); `allowed` the
  /// entries of --allowed-origins ("*", an origin, or "scheme://*.domain" for every subdomain).
  OriginPolicy(std::string_view mode, std::string_view listen_host, const std::vector<std::string>& allowed);

  /// Whether a WebSocket may be opened from `origin` (the Origin header) on `host` (the Host header).
  bool allows(std::string_view origin, std::string_view host) const;
  /// False when every origin is let in.
  bool enabled() const noexcept { return enabled_; }

 private:
  bool enabled_ = false;
  std::vector<std::string> allowed_;  // lowercase
};

/// True for "localhost" and loopback addresses.
bool is_loopback_host(std::string_view host);

}  // namespace peercable::app
