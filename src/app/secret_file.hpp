#pragma once
// The token secret kept on disk when --jwt-secret is not given, so tokens survive a restart. Start-up only.
#include <filesystem>
#include <string>

namespace peercable::app {

/// The secret in `dir`/jwt_secret (created with `dir` if needed): the file's first line when it holds at
/// least 32 characters, else 32 fresh random bytes in hex written there, readable by the owner only.
/// Throws std::runtime_error when the folder or the file cannot be made.
std::string load_or_create_secret(const std::filesystem::path& dir);

}  // namespace peercable::app
