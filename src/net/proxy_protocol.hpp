#pragma once
// The PROXY protocol header (versions 1 and 2, as HAProxy specifies them) that a load balancer sends before
// anything else on a connection, naming the client it accepted. A pure parser over the bytes received so
// far: no I/O, so the connection feeds it what it has and asks again when more arrives.
#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace peercable::net {

/// The longest header accepted: a version 1 line is at most 107 bytes; a version 2 header is 16 bytes plus
/// addresses and TLVs, refused past this bound (load balancers send a few hundred bytes at most).
constexpr std::size_t kProxyV1MaxBytes = 107;
constexpr std::size_t kProxyV2MaxBytes = 16 + 2048;

enum class ProxyParse {
  kNeedMore,  // a header may still follow: read more
  kDone,      // a whole header; `size` bytes of the input are the header, the rest is the payload
  kInvalid,   // not a PROXY header, or a malformed one
};

struct ProxyHeader {
  ProxyParse status = ProxyParse::kNeedMore;
  std::size_t size = 0;  // bytes taken by the header (kDone)
  int version = 0;       // 1 or 2 (kDone)
  /// The client's address and port, when the header names one (PROXY over TCP/UDP on IPv4 or IPv6). Empty for
  /// the LOCAL command (a health check by the balancer itself) and the UNKNOWN/UNSPEC family: the connection
  /// then stands for itself.
  std::optional<boost::asio::ip::address> source;
  std::uint16_t source_port = 0;
  const char* error = "";  // why it is invalid (kInvalid)
};

/// Parses the start of a connection's bytes `input` (everything received so far, from the first byte).
ProxyHeader parse_proxy_header(std::string_view input);

}  // namespace peercable::net
