#pragma once
// Room history in an SQLite file (WAL), so it survives restarts with no service to run.
#include <sqlite3.h>

#include <mutex>
#include <string>
#include <vector>

#include "store/history.hpp"

namespace peercable::store {

class SqliteHistory final : public HistoryStore {
 public:
  /// Opens (creating if needed) the database at `path`; throws std::runtime_error with the reason on failure.
  SqliteHistory(const std::string& path, std::size_t per_room);
  ~SqliteHistory() override;
  SqliteHistory(const SqliteHistory&) = delete;
  SqliteHistory& operator=(const SqliteHistory&) = delete;

  void append(const std::string& room, std::string message_json) override;
  std::vector<std::string> latest(const std::string& room) override;
  /// Deletes the rooms' rows in one transaction and gives the freed pages back to the file system.
  void forget(const std::vector<std::string>& rooms) override;
  std::vector<std::string> rooms() override;

 private:
  std::size_t per_room_;
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* prune_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
};

}  // namespace peercable::store
