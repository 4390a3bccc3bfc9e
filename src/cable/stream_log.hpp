#pragma once
// The node's recent broadcasts per stream, for the extended protocol: every broadcast gets the next offset of
// its stream and is kept (bounded by count, age and number of streams) so that a client that missed some
// can ask for them again. Thread-safe: streams are split over shards, each with its own lock.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace peercable::cable {

class Broadcast;
using BroadcastPtr = std::shared_ptr<const Broadcast>;

struct StreamLogOptions {
  std::size_t limit = 100;               // broadcasts kept per stream (0: no log at all)
  std::chrono::seconds ttl{300};         // how long one is kept
  std::size_t max_streams = 10000;       // streams tracked at once; the longest idle goes first
};

/// Why a history request for one stream cannot be served.
enum class HistoryResult { kOk, kUnknownStream, kUnknownEpoch, kEvicted, kFutureOffset, kUnsequenced, kUnavailable };
const char* to_string(HistoryResult r);

/// One stream of a history request: after a position, or since a time.
struct StreamQuery {
  std::string stream;
  std::string epoch;  // with `offset`, when `after` is set
  std::uint64_t offset = 0;
  bool after = false;
  std::int64_t since = 0;  // unix seconds, when `after` is not set
};
/// The answer to a history request: kOk with what each queried stream missed (oldest first, in query order),
/// or why not, with the stream that failed.
struct HistoryAnswer {
  HistoryResult result = HistoryResult::kOk;
  std::string failed;
  std::vector<std::vector<BroadcastPtr>> missed;
};

/// Stream history kept outside the node (Redis), the same for every node: broadcasts are sequenced there and
/// history requests are answered from there, off the loops.
class RemoteStreamHistory {
 public:
  using Done = std::function<void(HistoryAnswer)>;
  virtual ~RemoteStreamHistory() = default;
  /// Answers `queries` later through `done`, on another thread (or at once when it cannot be asked).
  virtual void read(std::vector<StreamQuery> queries, Done done) = 0;
};

class StreamLog {
 public:
  /// `node_epoch` starts every stream epoch made by this log (a new one per process run).
  StreamLog(StreamLogOptions options, std::string node_epoch);

  /// Gives `b` the next offset of its stream (and the stream's epoch) and keeps it. Returns the stream's lock,
  /// held: the caller hands `b` to the loops before releasing it, so that every loop receives a stream's
  /// broadcasts in offset order.
  std::unique_lock<std::mutex> append(Broadcast& b, const BroadcastPtr& keep);

  /// The kept broadcasts of `stream` after `offset` of `epoch`, oldest first, into `out`; anything else
  /// than kOk when some of them are gone (or never were).
  HistoryResult after(const std::string& stream, std::string_view epoch, std::uint64_t offset,
                      std::vector<BroadcastPtr>& out);
  /// The kept broadcasts of `stream` made at or after `unix_seconds`, oldest first.
  void since(const std::string& stream, std::int64_t unix_seconds, std::vector<BroadcastPtr>& out);

  /// Called for every broadcast kept, under its stream's lock (so in offset order per stream), with its time
  /// in unix seconds: hands it to a journal that outlives the process. Must not block. Before any broadcast.
  using Journal = std::function<void(const BroadcastPtr& b, std::int64_t at)>;
  void set_journal(Journal j) { journal_ = std::move(j); }
  struct Kept {
    std::uint64_t offset;
    std::int64_t at;
    std::string payload;
  };
  /// Puts back a stream a journal kept: its epoch, its last offset and its latest broadcasts (oldest first,
  /// ending at `head` with no gap). At start, before any broadcast.
  void restore(const std::string& stream, const std::string& epoch, std::uint64_t head, std::vector<Kept> kept);
  /// Every stream's name, epoch and last offset (for a journal, at a clean stop).
  std::vector<std::tuple<std::string, std::string, std::uint64_t>> heads();

  /// Drops broadcasts older than the TTL (called now and then, so idle streams release their payloads).
  void expire();

  std::size_t stream_count();
  const StreamLogOptions& options() const noexcept { return options_; }

 private:
  struct Entry {
    std::uint64_t offset;
    std::int64_t at;  // unix seconds
    BroadcastPtr broadcast;
  };
  struct Stream {
    std::shared_ptr<const std::string> epoch;
    std::uint64_t head = 0;  // last offset given
    std::int64_t last_used = 0;
    std::deque<Entry> entries;
  };
  static constexpr std::size_t kShards = 16;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Stream> streams;
  };
  Shard& shard_of(std::string_view stream);
  void trim(Stream& s, std::int64_t now) const;
  void evict_one(Shard& shard);  // mutex held

  StreamLogOptions options_;
  std::string node_epoch_;
  std::size_t per_shard_streams_;
  std::array<Shard, kShards> shards_;
  Journal journal_;
  std::atomic<std::uint64_t> generation_{0};  // a stream made again (after eviction) gets a new epoch
  std::shared_ptr<const std::string> new_epoch();
};

}  // namespace peercable::cable
