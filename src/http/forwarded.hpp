#pragma once
// The client behind trusted reverse proxies, from X-Forwarded-For or RFC 7239 Forwarded. Each proxy appends
// the address it received the request from, so the list reads client, proxy 1, proxy 2, ...; only the
// entries our trusted proxies wrote can be believed, and those are the right-most ones: walking from the
// right, the first address that is not itself a trusted proxy is the client. Anything to its left came
// from the client and may be forged. Pure functions; no I/O.
#include <boost/asio/ip/address.hpp>

#include <span>
#include <string_view>

#include "net/trusted_proxies.hpp"

namespace peercable::http {

/// Which header the trusted proxies set: it must be one they overwrite or append to, never one they pass
/// through untouched (a client could then write it).
enum class ForwardedHeader { kXForwardedFor, kForwarded };

enum class ForwardedStatus {
  kUntrustedPeer,  // the peer is not a trusted proxy: its headers are ignored
  kAbsent,         // no such header: the peer is the client (a request by the proxy itself)
  kFound,          // the client named by the header
  kUnknown,        // the proxy did not know the client ("unknown", an obfuscated name): the peer stands in
  kMalformed,      // an entry that is not an address: the peer stands in
};

struct ForwardedClient {
  boost::asio::ip::address address;
  ForwardedStatus status = ForwardedStatus::kUntrustedPeer;
};

/// The client address of a request that reached us from `peer`, given the values of every `kind` header
/// line in order (`values`), believed only when `peer` is in `trusted`.
ForwardedClient forwarded_client(const boost::asio::ip::address& peer, std::span<const std::string_view> values,
                                 ForwardedHeader kind, const net::TrustedProxies& trusted);

}  // namespace peercable::http
