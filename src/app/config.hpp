#pragma once
// Command line, environment (PEERCABLE_<NAME>) and YAML config file, in that order of precedence.
#include <cstddef>
#include <string>

namespace peercable::app {

struct Config {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  unsigned threads = 0;  // 0: one loop per core
  std::string config_file;
  std::string log_level = "info";
  std::string cable_path = "/cable";
  std::string web_root;  // empty: <repo>/web/dist next to the binary, if present
  std::string data_dir = "peercable-data";
  std::string jwt_secret;
  bool guests = true;
  std::size_t max_message = 1 << 20;
  std::size_t max_backlog = 4 << 20;
  std::size_t message_limit = 4096;
  std::size_t history_size = 50;
  std::string history = "sqlite";  // or "memory"
  unsigned ws_idle_timeout = 0;
  unsigned header_timeout = 10;
  bool deflate = true;
  std::string broadcast_key;
  std::string redis_url;
  std::string channel_prefix;
  std::string env;  // the config-file section (Rails environment)
};

/// Parses argv (and the environment and config file). On --help prints and exits 0; on a bad value prints
/// one line naming the option and exits 2.
Config parse_config(int argc, char** argv);

}  // namespace peercable::app
