#include "net/ip_limits.hpp"

#include <algorithm>
#include <cstring>

namespace peercable::net {

IpLimits::IpLimits(unsigned max_open, unsigned max_new, std::chrono::seconds period)
    : max_open_(max_open),
      max_new_(max_new),
      per_second_(static_cast<double>(max_new) / static_cast<double>(std::max<long>(1, period.count()))) {}

IpLimits::Lease::~Lease() { owner_->release(key_); }

std::uint64_t IpLimits::key_of(const boost::asio::ip::address& address) {
  if (address.is_v4()) return address.to_v4().to_uint();
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_uint();
  auto bytes = v6.to_bytes();
  std::uint64_t prefix = 0;
  std::memcpy(&prefix, bytes.data(), 8);
  return prefix | (std::uint64_t{1} << 63) | (std::uint64_t{1} << 62);  // never equal to an IPv4 key
}

IpLimits::Admission IpLimits::admit(const boost::asio::ip::address& address, Clock::time_point now) {
  Admission a;
  const std::uint64_t key = key_of(address);
  Shard& s = shard(key);
  std::lock_guard lock(s.mutex);
  Entry& e = s.entries[key];
  if (max_new_ != 0) {
    if (!e.arrivals.take(now, max_new_, per_second_)) a.refused = Limit::kNewConnectionsPerIp;
  }
  if (a.refused == Limit::kCount && max_open_ != 0 && e.open >= max_open_) a.refused = Limit::kConnectionsPerIp;
  if (a.refused != Limit::kCount) {
    if (e.open == 0 && max_new_ == 0) s.entries.erase(key);
    return a;
  }
  ++e.open;
  a.lease = std::make_unique<Lease>(shared_from_this(), key);
  return a;
}

bool IpLimits::take(const boost::asio::ip::address& address, Clock::time_point now) {
  if (max_new_ == 0) return true;
  const std::uint64_t key = key_of(address);
  Shard& s = shard(key);
  std::lock_guard lock(s.mutex);
  Entry& e = s.entries[key];
  return e.arrivals.take(now, max_new_, per_second_);
}

void IpLimits::release(std::uint64_t key) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mutex);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return;
  if (it->second.open > 0) --it->second.open;
  if (it->second.open == 0 && max_new_ == 0) s.entries.erase(it);
}

void IpLimits::sweep(Clock::time_point now) {
  for (auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    for (auto it = s.entries.begin(); it != s.entries.end();) {
      if (it->second.open == 0) it->second.arrivals.refill(now, max_new_, per_second_);
      if (it->second.open == 0 && it->second.arrivals.tokens() >= max_new_)
        it = s.entries.erase(it);
      else
        ++it;
    }
  }
}

std::size_t IpLimits::tracked() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.entries.size();
  }
  return n;
}

}  // namespace peercable::net
