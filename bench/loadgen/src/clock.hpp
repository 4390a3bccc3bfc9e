// The load generator's one clock: monotonic microseconds. Payload timestamps use it too, so a
// latency is a difference of two readings. CLOCK_MONOTONIC is one clock for the whole machine on
// Linux, so readings of several load generator processes compare too (the hold scenario relies on it).
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
