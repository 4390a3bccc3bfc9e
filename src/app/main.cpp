// peercable: parses the configuration, wires the server and runs it until a signal.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "app/app.hpp"
#include "app/config.hpp"

int main(int argc, char** argv) {
  auto config = peercable::app::parse_config(argc, argv);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  try {
    peercable::app::App app(std::move(config));
    return app.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peercable: error: %s\n", e.what());
    return 2;
  }
}
