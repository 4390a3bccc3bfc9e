#include "app/secret_file.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include "auth/encoding.hpp"

namespace peercable::app {

std::string load_or_create_secret(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("--data-dir: cannot create " + dir.string() + ": " + ec.message());
  auto file = dir / "jwt_secret";
  std::string secret;
  std::ifstream in(file);
  if (in && std::getline(in, secret) && secret.size() >= 32) return secret;
  unsigned char raw[32];
  RAND_bytes(raw, sizeof raw);
  secret = auth::hex_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  auto old_mask = ::umask(077);
  std::ofstream out(file, std::ios::trunc);
  out << secret << "\n";
  ::umask(old_mask);
  if (!out) throw std::runtime_error("--data-dir: cannot write " + file.string());
  spdlog::info("generated a token secret in {}", file.string());
  return secret;
}

}  // namespace peercable::app
