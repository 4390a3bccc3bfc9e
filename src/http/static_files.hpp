#pragma once
// Files under one folder, loaded into memory at start and served at /; paths that leave the folder are refused.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace peercable::http {

struct StaticFile {
  std::string body;
  std::string content_type;
  std::string etag;  // a quoted hash of the body, for If-None-Match
};

class StaticFiles {
 public:
  /// The most bytes of files loaded; a larger folder is a start-up error.
  static constexpr std::size_t kMaxTotalBytes = std::size_t{64} << 20;

  /// Loads every regular file under `root` (symlinks only when they stay inside it), so that serving never
  /// reads the disk on a loop thread. Throws std::runtime_error when the files exceed kMaxTotalBytes or one
  /// cannot be read. Files changed later are not seen until a restart.
  explicit StaticFiles(std::filesystem::path root);
  /// The file for a URL path ("/" and "/dir/" are index.html); nullptr when absent or outside the root.
  const StaticFile* find(std::string_view url_path) const;
  bool available() const noexcept { return !root_.empty(); }
  const std::filesystem::path& root() const noexcept { return root_; }

 private:
  std::filesystem::path root_;
  std::unordered_map<std::string, StaticFile> files_;  // by path relative to the root, '/'-separated
  std::size_t total_bytes_ = 0;
};

/// The web client of this binary: installed next to it (<prefix>/bin/peercable → <prefix>/share/peercable/web),
/// or the build output of the source tree (build/peercable → web/dist); empty when neither is there.
std::filesystem::path installed_web_root();

}  // namespace peercable::http
