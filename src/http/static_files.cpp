#include "http/static_files.hpp"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "http/query.hpp"

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

std::filesystem::path installed_web_root() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  if (auto installed = exe.parent_path().parent_path() / "share" / "peercable" / "web";
      std::filesystem::is_regular_file(installed / "index.html", ec))
    return installed;
  for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    auto candidate = dir / "web" / "dist";
    if (std::filesystem::is_directory(candidate, ec)) return candidate;
  }
  return {};
}

StaticFiles::StaticFiles(std::filesystem::path root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (root.empty() || !fs::is_directory(root, ec)) return;
  root_ = fs::canonical(root, ec);
  if (ec) {
    root_.clear();
    return;
  }
  const std::string rs = root_.string();
  for (auto it = fs::recursive_directory_iterator(root_, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    // A symlink is served only when its target is inside the root.
    auto full = fs::canonical(it->path(), ec);
    if (ec) continue;
    auto fstr = full.string();
    if (fstr.size() <= rs.size() || fstr.compare(0, rs.size(), rs) != 0 || fstr[rs.size()] != '/') continue;
    std::ifstream in(full, std::ios::binary);
    std::ostringstream buf;
    if (!(in && buf << in.rdbuf()) && fs::file_size(full, ec) > 0)
      throw std::runtime_error("--web-root: cannot read " + full.string());
    StaticFile f{buf.str(), content_type_for(full), {}};
    total_bytes_ += f.body.size();
    if (total_bytes_ > kMaxTotalBytes)
      throw std::runtime_error("--web-root: " + rs + " holds over " + std::to_string(kMaxTotalBytes >> 20) +
                               " MiB of files; they are all loaded into memory at start");
    // FNV-1a over the body: a validator that changes when the file does.
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : f.body) h = (h ^ c) * 1099511628211ull;
    static constexpr char kHex[] = "0123456789abcdef";
    f.etag = "\"";
    for (int i = 60; i >= 0; i -= 4) f.etag += kHex[(h >> i) & 15];
    f.etag += '"';
    files_.emplace(it->path().lexically_relative(root_).generic_string(), std::move(f));
  }
}

const StaticFile* StaticFiles::find(std::string_view url_path) const {
  if (root_.empty() || url_path.empty() || url_path[0] != '/') return nullptr;
  auto decoded = percent_decode(url_path, false);
  if (!decoded) return nullptr;
  std::string rel = decoded->substr(1);
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  // No segment may climb out (the table only holds files inside the root, but "a/../b" must not alias "b").
  std::stringstream segs(rel);
  for (std::string seg; std::getline(segs, seg, '/');)
    if (seg == ".." || seg == "." || seg.empty()) return nullptr;
  auto it = files_.find(rel);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace peercable::http
