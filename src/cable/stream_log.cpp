#include "cable/stream_log.hpp"

#include <algorithm>
#include <functional>

#include "cable/broadcast.hpp"

namespace peercable::cable {

namespace {
std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

const char* to_string(HistoryResult r) {
  switch (r) {
    case HistoryResult::kOk: return "ok";
    case HistoryResult::kUnknownStream: return "no history for this stream";
    case HistoryResult::kUnknownEpoch: return "unknown epoch";
    case HistoryResult::kEvicted: return "offset no longer kept";
    case HistoryResult::kFutureOffset: return "offset not reached yet";
    case HistoryResult::kUnsequenced: return "the stream had broadcasts without a position (published by Rails)";
    case HistoryResult::kUnavailable: return "stream history unavailable";
  }
  return "history unavailable";
}

StreamLog::StreamLog(StreamLogOptions options, std::string node_epoch)
    : options_(options),
      node_epoch_(std::move(node_epoch)),
      per_shard_streams_(options.max_streams == 0 ? 0 : (options.max_streams + kShards - 1) / kShards) {}

StreamLog::Shard& StreamLog::shard_of(std::string_view stream) {
  return shards_[std::hash<std::string_view>{}(stream) % kShards];
}

std::shared_ptr<const std::string> StreamLog::new_epoch() {
  // The node's epoch names this process run; the suffix tells apart the lives of one stream within it.
  const std::uint64_t g = generation_.fetch_add(1, std::memory_order_relaxed);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string e = node_epoch_;
  e += '-';
  std::string suffix;
  std::uint64_t v = g;
  do {
    suffix.insert(suffix.begin(), kHex[v & 15]);
    v >>= 4;
  } while (v);
  e += suffix;
  return std::make_shared<const std::string>(std::move(e));
}

void StreamLog::trim(Stream& s, std::int64_t now) const {
  const std::int64_t oldest = now - static_cast<std::int64_t>(options_.ttl.count());
  while (!s.entries.empty() && (s.entries.size() > options_.limit || s.entries.front().at < oldest))
    s.entries.pop_front();
}

void StreamLog::evict_one(Shard& shard) {
  auto victim = shard.streams.end();
  for (auto it = shard.streams.begin(); it != shard.streams.end(); ++it)
    if (victim == shard.streams.end() || it->second.last_used < victim->second.last_used) victim = it;
  if (victim != shard.streams.end()) shard.streams.erase(victim);
}

std::unique_lock<std::mutex> StreamLog::append(Broadcast& b, const BroadcastPtr& keep) {
  Shard& shard = shard_of(b.stream());
  std::unique_lock lock(shard.mutex);
  const std::int64_t now = unix_now();
  auto it = shard.streams.find(b.stream());
  if (it == shard.streams.end()) {
    if (per_shard_streams_ != 0 && shard.streams.size() >= per_shard_streams_) evict_one(shard);
    it = shard.streams.emplace(b.stream(), Stream{}).first;
    it->second.epoch = new_epoch();
  }
  Stream& s = it->second;
  s.last_used = now;
  b.set_position(++s.head, s.epoch);
  s.entries.push_back({s.head, now, keep});
  trim(s, now);
  if (journal_) journal_(keep, now);
  return lock;
}

void StreamLog::restore(const std::string& stream, const std::string& epoch, std::uint64_t head,
                        std::vector<Kept> kept) {
  Shard& shard = shard_of(stream);
  std::lock_guard lock(shard.mutex);
  Stream& s = shard.streams[stream];
  s.epoch = std::make_shared<const std::string>(epoch);
  s.head = head;
  s.entries.clear();
  for (auto& k : kept) {
    auto b = std::make_shared<Broadcast>(stream, std::move(k.payload));
    b->set_position(k.offset, s.epoch);
    s.last_used = std::max(s.last_used, k.at);
    s.entries.push_back({k.offset, k.at, std::move(b)});
  }
  if (s.last_used == 0) s.last_used = unix_now();
}

std::vector<std::tuple<std::string, std::string, std::uint64_t>> StreamLog::heads() {
  std::vector<std::tuple<std::string, std::string, std::uint64_t>> out;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [name, s] : shard.streams) out.emplace_back(name, *s.epoch, s.head);
  }
  return out;
}

HistoryResult StreamLog::after(const std::string& stream, std::string_view epoch, std::uint64_t offset,
                               std::vector<BroadcastPtr>& out) {
  Shard& shard = shard_of(stream);
  std::lock_guard lock(shard.mutex);
  auto it = shard.streams.find(stream);
  if (it == shard.streams.end()) return HistoryResult::kUnknownStream;
  Stream& s = it->second;
  if (*s.epoch != epoch) return HistoryResult::kUnknownEpoch;
  if (offset > s.head) return HistoryResult::kFutureOffset;
  trim(s, unix_now());
  if (offset == s.head) return HistoryResult::kOk;
  // Offsets offset+1 .. head must all still be here.
  if (s.entries.empty() || s.entries.front().offset > offset + 1) return HistoryResult::kEvicted;
  for (const auto& e : s.entries)
    if (e.offset > offset) out.push_back(e.broadcast);
  return HistoryResult::kOk;
}

void StreamLog::since(const std::string& stream, std::int64_t unix_seconds, std::vector<BroadcastPtr>& out) {
  Shard& shard = shard_of(stream);
  std::lock_guard lock(shard.mutex);
  auto it = shard.streams.find(stream);
  if (it == shard.streams.end()) return;
  trim(it->second, unix_now());
  for (const auto& e : it->second.entries)
    if (e.at >= unix_seconds) out.push_back(e.broadcast);
}

void StreamLog::expire() {
  const std::int64_t now = unix_now();
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (auto& [name, s] : shard.streams) trim(s, now);
  }
}

std::size_t StreamLog::stream_count() {
  std::size_t n = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.streams.size();
  }
  return n;
}

}  // namespace peercable::cable
