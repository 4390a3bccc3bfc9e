#include "store/sqlite_stream_journal.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace peercable::store {

namespace {
std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}
}  // namespace

SqliteStreamJournal::SqliteStreamJournal(const std::string& path, std::size_t limit, std::int64_t ttl_seconds)
    : limit_(limit), ttl_(ttl_seconds) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string msg = "stream history database " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "cannot open");
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(msg);
  }
  try {
    // WAL with synchronous=NORMAL: a write costs no fsync. A crash may lose the last writes: load() then
    // trusts nothing (see there).
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=2000;"
         "CREATE TABLE IF NOT EXISTS stream_broadcasts (stream TEXT NOT NULL, offset INTEGER NOT NULL, "
         "epoch TEXT NOT NULL, at INTEGER NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (stream, offset)) WITHOUT ROWID;"
         "CREATE TABLE IF NOT EXISTS stream_heads (stream TEXT PRIMARY KEY, epoch TEXT NOT NULL, head INTEGER NOT NULL);"
         "CREATE TABLE IF NOT EXISTS stream_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);");
    insert_ = prepare("INSERT OR REPLACE INTO stream_broadcasts(stream, offset, epoch, at, payload) VALUES (?1, ?2, ?3, ?4, ?5)");
    trim_ = prepare("DELETE FROM stream_broadcasts WHERE stream = ?1 AND offset <= ?2");
  } catch (...) {
    sqlite3_finalize(insert_);
    sqlite3_finalize(trim_);
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteStreamJournal::~SqliteStreamJournal() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(trim_);
  sqlite3_close(db_);
}

void SqliteStreamJournal::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = std::string("stream history database: ") + (err ? err : sqlite3_errmsg(db_));
    sqlite3_free(err);
    throw std::runtime_error(msg);
  }
}

sqlite3_stmt* SqliteStreamJournal::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("stream history database: ") + sqlite3_errmsg(db_));
  return s;
}

std::vector<JournalStream> SqliteStreamJournal::load() {
  std::vector<JournalStream> out;
  bool clean = false;
  {
    sqlite3_stmt* s = prepare("SELECT value FROM stream_meta WHERE key = 'clean'");
    clean = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
  }
  if (!clean) {
    exec("DELETE FROM stream_broadcasts; DELETE FROM stream_heads;");
    return out;
  }
  const std::int64_t oldest =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() -
      ttl_;
  sqlite3_stmt* heads = prepare("SELECT stream, epoch, head FROM stream_heads");
  sqlite3_stmt* rows = prepare(
      "SELECT offset, at, payload FROM stream_broadcasts WHERE stream = ?1 AND epoch = ?2 AND offset <= ?3 "
      "ORDER BY offset DESC");
  while (sqlite3_step(heads) == SQLITE_ROW) {
    JournalStream js;
    js.stream = column_text(heads, 0);
    js.epoch = column_text(heads, 1);
    js.head = static_cast<std::uint64_t>(sqlite3_column_int64(heads, 2));
    sqlite3_bind_text(rows, 1, js.stream.data(), static_cast<int>(js.stream.size()), SQLITE_STATIC);
    sqlite3_bind_text(rows, 2, js.epoch.data(), static_cast<int>(js.epoch.size()), SQLITE_STATIC);
    sqlite3_bind_int64(rows, 3, static_cast<sqlite3_int64>(js.head));
    // Newest first, as long as the offsets follow each other down from the head: a write the worker had to
    // drop leaves a gap, and nothing before a gap can be replayed without losing what is in it.
    std::uint64_t want = js.head;
    while (sqlite3_step(rows) == SQLITE_ROW && js.entries.size() < limit_) {
      const auto offset = static_cast<std::uint64_t>(sqlite3_column_int64(rows, 0));
      const std::int64_t at = sqlite3_column_int64(rows, 1);
      if (offset != want || at < oldest) break;
      js.entries.push_back({offset, at, column_text(rows, 2)});
      --want;
    }
    sqlite3_reset(rows);
    std::reverse(js.entries.begin(), js.entries.end());
    out.push_back(std::move(js));
  }
  sqlite3_finalize(rows);
  sqlite3_finalize(heads);
  // In use: until close() writes them again, a crash leaves nothing to trust.
  exec("DELETE FROM stream_meta WHERE key = 'clean'; DELETE FROM stream_heads;");
  return out;
}

void SqliteStreamJournal::append(const std::string& stream, const std::string& epoch, std::uint64_t offset,
                                 std::int64_t at, const std::string& payload) {
  sqlite3_bind_text(insert_, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
  sqlite3_bind_int64(insert_, 2, static_cast<sqlite3_int64>(offset));
  sqlite3_bind_text(insert_, 3, epoch.data(), static_cast<int>(epoch.size()), SQLITE_STATIC);
  sqlite3_bind_int64(insert_, 4, at);
  sqlite3_bind_text(insert_, 5, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
  if (sqlite3_step(insert_) != SQLITE_DONE) spdlog::warn("stream history: insert failed: {}", sqlite3_errmsg(db_));
  sqlite3_reset(insert_);
  if (offset > limit_) {
    sqlite3_bind_text(trim_, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
    sqlite3_bind_int64(trim_, 2, static_cast<sqlite3_int64>(offset - limit_));
    sqlite3_step(trim_);
    sqlite3_reset(trim_);
  }
}

void SqliteStreamJournal::expire(std::int64_t now) {
  sqlite3_stmt* s = prepare("DELETE FROM stream_broadcasts WHERE at < ?1");
  sqlite3_bind_int64(s, 1, now - ttl_);
  sqlite3_step(s);
  sqlite3_finalize(s);
}

void SqliteStreamJournal::close(const std::vector<std::tuple<std::string, std::string, std::uint64_t>>& heads) {
  exec("BEGIN");
  sqlite3_stmt* s = prepare("INSERT OR REPLACE INTO stream_heads(stream, epoch, head) VALUES (?1, ?2, ?3)");
  for (const auto& [stream, epoch, head] : heads) {
    sqlite3_bind_text(s, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 2, epoch.data(), static_cast<int>(epoch.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(head));
    sqlite3_step(s);
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  exec("INSERT OR REPLACE INTO stream_meta(key, value) VALUES ('clean', '1'); COMMIT");
}

}  // namespace peercable::store
