#pragma once
// The extended protocol's stream history in an SQLite file (WAL), so that a restarted node keeps each stream's
// epoch and offsets and can still replay what clients missed. Written only by the store worker thread; read
// once at start, before any loop runs.
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace peercable::store {

struct JournalEntry {
  std::uint64_t offset;
  std::int64_t at;  // unix seconds
  std::string payload;
};

/// One stream as the last clean stop left it: its epoch, its last offset, and the kept broadcasts that end at
/// that offset with no gap (oldest first).
struct JournalStream {
  std::string stream;
  std::string epoch;
  std::uint64_t head = 0;
  std::vector<JournalEntry> entries;
};

class SqliteStreamJournal {
 public:
  /// Opens (creating if needed) the database at `path`; throws std::runtime_error with the reason on failure.
  SqliteStreamJournal(const std::string& path, std::size_t limit, std::int64_t ttl_seconds);
  ~SqliteStreamJournal();
  SqliteStreamJournal(const SqliteStreamJournal&) = delete;
  SqliteStreamJournal& operator=(const SqliteStreamJournal&) = delete;

  /// The streams the last run left, when it stopped cleanly (close() ran). After a crash nothing: the last
  /// broadcasts may never have been written, and offsets given again would name other messages, so every
  /// stream starts a new epoch. Marks the file as in use until close().
  std::vector<JournalStream> load();
  /// Writes one broadcast and trims its stream to the limit.
  void append(const std::string& stream, const std::string& epoch, std::uint64_t offset, std::int64_t at,
              const std::string& payload);
  /// Drops broadcasts older than the TTL.
  void expire(std::int64_t now);
  /// A clean stop: every stream's (name, epoch, last offset), and the mark that load() trusts.
  void close(const std::vector<std::tuple<std::string, std::string, std::uint64_t>>& heads);

 private:
  void exec(const char* sql);
  sqlite3_stmt* prepare(const char* sql);

  std::size_t limit_;
  std::int64_t ttl_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* trim_ = nullptr;
};

}  // namespace peercable::store
