// The load generator's one clock: monotonic microseconds. Payload timestamps use it too, so a
// latency is a difference of two readings in this process.
#pragma once

#include <cstdint>
#include <ctime>

namespace loadgen {

inline std::int64_t now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

}  // namespace loadgen
