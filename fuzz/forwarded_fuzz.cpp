// X-Forwarded-For and Forwarded as a trusted proxy would pass them: the input is split into header lines at
// '\n', read both ways. The client named must be the peer, or an address in the input that is not trusted
// (or the left-most when all are).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/forwarded.hpp"

using namespace peercable;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const net::TrustedProxies trusted = [] {
    std::string error;
    return *net::TrustedProxies::parse("10.0.0.0/8, 2001:db8::/32", error);
  }();
  static const auto peer = boost::asio::ip::make_address("10.0.0.1");
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  while (lines.size() < 32) {
    auto nl = input.find('\n');
    lines.push_back(input.substr(0, nl));
    if (nl == std::string_view::npos) break;
    input.remove_prefix(nl + 1);
  }
  for (auto kind : {http::ForwardedHeader::kXForwardedFor, http::ForwardedHeader::kForwarded}) {
    auto c = http::forwarded_client(peer, lines, kind, trusted);
    if (c.status != http::ForwardedStatus::kFound && c.address != peer) std::abort();
    if (c.address.is_v6() && c.address.to_v6().is_v4_mapped()) std::abort();  // always unmapped
  }
  auto untrusted = http::forwarded_client(boost::asio::ip::make_address("192.0.2.1"), lines,
                                          http::ForwardedHeader::kXForwardedFor, trusted);
  if (untrusted.status != http::ForwardedStatus::kUntrustedPeer) std::abort();
  return 0;
}
