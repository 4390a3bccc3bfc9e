// The token secret file: made once, read back after, remade when too short.
#include "app/secret_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

namespace fs = std::filesystem;
using peercable::app::load_or_create_secret;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("peercable-secret-" + std::to_string(::getpid()));
  TempDir() { fs::remove_all(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST(SecretFile, CreatedOnceOwnerOnlyThenReadBack) {
  TempDir dir;
  const fs::path nested = dir.path / "data";
  const std::string first = load_or_create_secret(nested);
  EXPECT_EQ(first.size(), 64u);
  EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((nested / "jwt_secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(load_or_create_secret(nested), first);
}

TEST(SecretFile, AShortSecretIsReplaced) {
  TempDir dir;
  fs::create_directories(dir.path);
  std::ofstream(dir.path / "jwt_secret") << "too-short\n";
  const std::string secret = load_or_create_secret(dir.path);
  EXPECT_EQ(secret.size(), 64u);
  std::ifstream in(dir.path / "jwt_secret");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, secret);
}

TEST(SecretFile, AnUnusableFolderIsAStartUpError) {
  TempDir dir;
  fs::create_directories(dir.path);
  std::ofstream(dir.path / "file") << "x";
  EXPECT_THROW(load_or_create_secret(dir.path / "file" / "below"), std::runtime_error);
}
