#include "net/trusted_proxies.hpp"

#include <charconv>

#include "net/header_text.hpp"

namespace peercable::net {

namespace {

bool prefix_matches(const std::uint8_t* a, const std::uint8_t* b, unsigned bits) {
  unsigned whole = bits / 8;
  for (unsigned i = 0; i < whole; ++i)
    if (a[i] != b[i]) return false;
  unsigned rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

boost::asio::ip::address unmapped(const boost::asio::ip::address& address) noexcept {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  return address;
}

std::optional<TrustedProxies> TrustedProxies::parse(std::string_view list, std::string& error) {
  TrustedProxies out;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view entry = trim_ows(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (entry.empty()) continue;
    std::string_view host = entry;
    std::optional<unsigned> prefix;
    if (auto slash = entry.find('/'); slash != std::string_view::npos) {
      host = entry.substr(0, slash);
      std::string_view bits = entry.substr(slash + 1);
      unsigned v = 0;
      auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), v);
      if (bits.empty() || ec != std::errc{} || end != bits.data() + bits.size()) {
        error = "bad prefix length in " + std::string(entry);
        return std::nullopt;
      }
      prefix = v;
    }
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(std::string(host), ec);
    if (ec) {
      error = "not an IP address or CIDR block: " + std::string(entry);
      return std::nullopt;
    }
    address = unmapped(address);
    Block b;
    b.v4 = address.is_v4();
    const unsigned max_bits = b.v4 ? 32 : 128;
    b.prefix = prefix.value_or(max_bits);
    if (b.prefix > max_bits) {
      error = "prefix longer than the address in " + std::string(entry);
      return std::nullopt;
    }
    if (b.v4) {
      auto bytes = address.to_v4().to_bytes();
      std::copy(bytes.begin(), bytes.end(), b.bytes.begin());
    } else {
      auto bytes = address.to_v6().to_bytes();
      std::copy(bytes.begin(), bytes.end(), b.bytes.begin());
    }
    out.blocks_.push_back(b);
  }
  return out;
}

bool TrustedProxies::contains(const boost::asio::ip::address& address) const noexcept {
  if (blocks_.empty()) return false;
  const auto a = unmapped(address);
  std::array<std::uint8_t, 16> bytes{};
  if (a.is_v4()) {
    auto v = a.to_v4().to_bytes();
    std::copy(v.begin(), v.end(), bytes.begin());
  } else {
    auto v = a.to_v6().to_bytes();
    std::copy(v.begin(), v.end(), bytes.begin());
  }
  for (const auto& b : blocks_)
    if (b.v4 == a.is_v4() && prefix_matches(bytes.data(), b.bytes.data(), b.prefix)) return true;
  return false;
}

}  // namespace peercable::net
