#include "store/sqlite_history.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace peercable::store {

SqliteHistory::SqliteHistory(const std::string& path, std::size_t per_room) : per_room_(per_room) {
  auto fail = [&](const std::string& what) {
    std::string msg = "history database " + path + ": " + what + ": " + (db_ ? sqlite3_errmsg(db_) : "cannot open");
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(msg);
  };
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK)
    fail("open");
  // WAL with synchronous=NORMAL: an append costs no fsync; a power cut may lose the last moments of chat,
  // never corrupt the file.
  const char* schema =
      // auto_vacuum takes effect only on a new file (before the first table): there, the pages of expired
      // rooms go back to the file system; an older file reuses them.
      "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=2000;"
      "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, body TEXT NOT "
      "NULL);"
      "CREATE INDEX IF NOT EXISTS messages_room ON messages(room, id);";
  if (sqlite3_exec(db_, schema, nullptr, nullptr, nullptr) != SQLITE_OK) fail("schema");
  if (sqlite3_prepare_v2(db_, "INSERT INTO messages(room, body) VALUES (?1, ?2)", -1, &insert_, nullptr) != SQLITE_OK)
    fail("prepare insert");
  // Keeps the newest per_room rows of a room: everything at or below the (per_room+1)-th newest id goes.
  if (sqlite3_prepare_v2(db_,
                         "DELETE FROM messages WHERE room = ?1 AND id <= (SELECT id FROM messages WHERE room = ?1 "
                         "ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                         -1, &prune_, nullptr) != SQLITE_OK)
    fail("prepare prune");
  if (sqlite3_prepare_v2(db_,
                         "SELECT body FROM (SELECT id, body FROM messages WHERE room = ?1 ORDER BY id DESC LIMIT ?2) "
                         "ORDER BY id",
                         -1, &select_, nullptr) != SQLITE_OK)
    fail("prepare select");
  if (sqlite3_prepare_v2(db_, "DELETE FROM messages WHERE room = ?1", -1, &delete_, nullptr) != SQLITE_OK)
    fail("prepare delete");
}

SqliteHistory::~SqliteHistory() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(prune_);
  sqlite3_finalize(select_);
  sqlite3_finalize(delete_);
  sqlite3_close(db_);
}

void SqliteHistory::append(const std::string& room, std::string message_json) {
  if (per_room_ == 0) return;
  std::lock_guard lock(mutex_);
  sqlite3_bind_text(insert_, 1, room.data(), static_cast<int>(room.size()), SQLITE_STATIC);
  sqlite3_bind_text(insert_, 2, message_json.data(), static_cast<int>(message_json.size()), SQLITE_STATIC);
  if (sqlite3_step(insert_) != SQLITE_DONE) spdlog::warn("history: insert failed: {}", sqlite3_errmsg(db_));
  sqlite3_reset(insert_);
  sqlite3_bind_text(prune_, 1, room.data(), static_cast<int>(room.size()), SQLITE_STATIC);
  sqlite3_bind_int64(prune_, 2, static_cast<sqlite3_int64>(per_room_));
  if (sqlite3_step(prune_) != SQLITE_DONE) spdlog::warn("history: prune failed: {}", sqlite3_errmsg(db_));
  sqlite3_reset(prune_);
}

std::vector<std::string> SqliteHistory::latest(const std::string& room) {
  std::vector<std::string> out;
  if (per_room_ == 0) return out;
  std::lock_guard lock(mutex_);
  sqlite3_bind_text(select_, 1, room.data(), static_cast<int>(room.size()), SQLITE_STATIC);
  sqlite3_bind_int64(select_, 2, static_cast<sqlite3_int64>(per_room_));
  int rc;
  while ((rc = sqlite3_step(select_)) == SQLITE_ROW) {
    auto* text = reinterpret_cast<const char*>(sqlite3_column_text(select_, 0));
    out.emplace_back(text, static_cast<std::size_t>(sqlite3_column_bytes(select_, 0)));
  }
  if (rc != SQLITE_DONE) spdlog::warn("history: select failed: {}", sqlite3_errmsg(db_));
  sqlite3_reset(select_);
  return out;
}

void SqliteHistory::forget(const std::vector<std::string>& rooms) {
  if (rooms.empty()) return;
  std::lock_guard lock(mutex_);
  if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    spdlog::warn("history: cannot forget {} rooms: {}", rooms.size(), sqlite3_errmsg(db_));
    return;
  }
  for (const auto& room : rooms) {
    sqlite3_bind_text(delete_, 1, room.data(), static_cast<int>(room.size()), SQLITE_STATIC);
    if (sqlite3_step(delete_) != SQLITE_DONE) spdlog::warn("history: delete failed: {}", sqlite3_errmsg(db_));
    sqlite3_reset(delete_);
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    spdlog::warn("history: cannot forget {} rooms: {}", rooms.size(), sqlite3_errmsg(db_));
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return;
  }
  sqlite3_exec(db_, "PRAGMA incremental_vacuum", nullptr, nullptr, nullptr);
}

std::vector<std::string> SqliteHistory::rooms() {
  std::vector<std::string> out;
  std::lock_guard lock(mutex_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT DISTINCT room FROM messages", -1, &st, nullptr) != SQLITE_OK) return out;
  while (sqlite3_step(st) == SQLITE_ROW)
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                     static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
  sqlite3_finalize(st);
  return out;
}

}  // namespace peercable::store
