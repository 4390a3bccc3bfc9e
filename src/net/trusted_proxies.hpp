#pragma once
// The addresses whose word about the client is believed: load balancers and reverse proxies in front of us,
// given as a list of CIDR blocks. Empty by default: nobody is trusted, every client is its TCP peer.
#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peercable::net {

class TrustedProxies {
 public:
  /// Parses a comma-separated list of addresses and CIDR blocks ("10.0.0.0/8, ::1, 192.0.2.7"); on a bad
  /// entry returns nothing and says why in `error`.
  static std::optional<TrustedProxies> parse(std::string_view list, std::string& error);

  /// True when `address` lies in one of the blocks (an IPv4-mapped IPv6 address counts as its IPv4 address).
  bool contains(const boost::asio::ip::address& address) const noexcept;
  bool empty() const noexcept { return blocks_.empty(); }
  std::size_t size() const noexcept { return blocks_.size(); }

 private:
  struct Block {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first four
    unsigned prefix = 0;                   // bits that must match
    bool v4 = false;
  };
  std::vector<Block> blocks_;
};

/// `address` with an IPv4-mapped IPv6 address (::ffff:a.b.c.d) turned into its IPv4 form.
boost::asio::ip::address unmapped(const boost::asio::ip::address& address) noexcept;

}  // namespace peercable::net
