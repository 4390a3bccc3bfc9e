#include "store/sqlite_history.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

using peercable::store::SqliteHistory;

namespace {
std::string temp_db() {
  auto p = std::filesystem::temp_directory_path() / ("peercable-history-" + std::to_string(::getpid()) + ".sqlite3");
  std::filesystem::remove(p);
  return p.string();
}
}  // namespace

TEST(SqliteHistory, KeepsTheNewestPerRoomAcrossReopen) {
  auto path = temp_db();
  {
    SqliteHistory h(path, 3);
    for (int i = 1; i <= 5; ++i) h.append("lobby", "{\"n\":" + std::to_string(i) + "}");
    h.append("other", "{\"n\":99}");
    auto got = h.latest("lobby");
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], "{\"n\":3}");
    EXPECT_EQ(got[2], "{\"n\":5}");
  }
  SqliteHistory again(path, 3);
  auto got = again.latest("lobby");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "{\"n\":3}");
  EXPECT_EQ(again.latest("other").size(), 1u);
  EXPECT_TRUE(again.latest("empty").empty());
  std::filesystem::remove(path);
}

TEST(SqliteHistory, BadPathIsAClearError) {
  EXPECT_THROW(SqliteHistory("/nonexistent-dir/x/history.sqlite3", 10), std::runtime_error);
}
