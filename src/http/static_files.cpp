#include "http/static_files.hpp"

#include <fstream>
#include <sstream>

namespace peercable::http {
namespace {

std::string content_type_for(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      char c = static_cast<char>(h * 16 + l);
      if (c == '\0') return std::nullopt;
      out += c;
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

StaticFiles::StaticFiles(std::filesystem::path root) {
  std::error_code ec;
  if (!root.empty() && std::filesystem::is_directory(root, ec)) root_ = std::filesystem::canonical(root, ec);
}

std::optional<StaticFile> StaticFiles::find(std::string_view url_path) const {
  if (root_.empty() || url_path.empty() || url_path[0] != '/') return std::nullopt;
  auto decoded = percent_decode(url_path, false);
  if (!decoded) return std::nullopt;
  std::string rel = decoded->substr(1);
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  // No segment may climb out; canonical() below is the second line of defence (symlinks).
  std::stringstream segs(rel);
  for (std::string seg; std::getline(segs, seg, '/');)
    if (seg == ".." || seg == ".") return std::nullopt;
  std::error_code ec;
  auto full = std::filesystem::canonical(root_ / rel, ec);
  if (ec || !std::filesystem::is_regular_file(full, ec)) return std::nullopt;
  auto rs = root_.string(), fs = full.string();
  if (fs.size() <= rs.size() || fs.compare(0, rs.size(), rs) != 0 || fs[rs.size()] != '/') return std::nullopt;
  std::ifstream in(full, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buf;
  buf << in.rdbuf();
  return StaticFile{buf.str(), content_type_for(full)};
}

}  // namespace peercable::http
