#pragma once
// Per-client-address limits shared by every loop: open connections, and new arrivals per period (a token
// bucket holding one period's worth). IPv6 clients are grouped by /64, the block one host is given.
#include <boost/asio/ip/address.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "net/limit.hpp"
#include "net/token_bucket.hpp"

namespace peercable::net {

class IpLimits : public std::enable_shared_from_this<IpLimits> {
 public:
  using Clock = std::chrono::steady_clock;
  /// At most `max_open` open at once and `max_new` new ones per `period` from one address; 0 turns a limit off.
  IpLimits(unsigned max_open, unsigned max_new, std::chrono::seconds period = std::chrono::seconds(1));

  /// Held by an admitted connection; frees its slot when destroyed.
  class Lease {
   public:
    Lease(std::shared_ptr<IpLimits> owner, std::uint64_t key) : owner_(std::move(owner)), key_(key) {}
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    std::shared_ptr<IpLimits> owner_;
    std::uint64_t key_;
  };

  struct Admission {
    std::unique_ptr<Lease> lease;  // empty when refused
    Limit refused = Limit::kCount;  // which limit refused it
  };

  /// Admits a new connection from `address` at `now`, or says which limit it is over. Thread-safe.
  Admission admit(const boost::asio::ip::address& address, Clock::time_point now);
  /// Takes one arrival from the bucket of `address` without holding a slot; false when it is empty.
  bool take(const boost::asio::ip::address& address, Clock::time_point now);
  /// Forgets addresses with nothing open and a full bucket; run about once a second.
  void sweep(Clock::time_point now);
  bool enabled() const noexcept { return max_open_ != 0 || max_new_ != 0; }
  /// Addresses with open connections or a partly spent bucket (for tests and metrics).
  std::size_t tracked() const;

 private:
  struct Entry {
    unsigned open = 0;
    TokenBucket arrivals;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::uint64_t, Entry> entries;
  };
  static std::uint64_t key_of(const boost::asio::ip::address& address);
  Shard& shard(std::uint64_t key) { return shards_[key % shards_.size()]; }
  void release(std::uint64_t key);

  unsigned max_open_;
  unsigned max_new_;
  double per_second_;
  std::array<Shard, 16> shards_;
};

}  // namespace peercable::net
