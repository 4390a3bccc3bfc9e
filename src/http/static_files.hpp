#pragma once
// Files under one folder, served at /; paths that leave the folder are refused.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace peercable::http {

struct StaticFile {
  std::string body;
  std::string content_type;
};

class StaticFiles {
 public:
  explicit StaticFiles(std::filesystem::path root);
  /// The file for a URL path ("/" is index.html); nullopt when absent or outside the root.
  std::optional<StaticFile> find(std::string_view url_path) const;
  bool available() const noexcept { return !root_.empty(); }
  const std::filesystem::path& root() const noexcept { return root_; }

 private:
  std::filesystem::path root_;
};

/// Decodes %XX escapes (and '+' as space in query strings); nullopt for a malformed escape or a NUL.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

}  // namespace peercable::http
