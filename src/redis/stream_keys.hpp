#pragma once
// Where the extended protocol's stream history lives in Redis, and the envelope a sequenced broadcast travels
// in between nodes: what the broker (which writes) and the history store (which reads) agree on. Pure.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace peercable::redis {

/// How long a stream's epoch, its last offset and the mark of a Rails broadcast stay after the stream's last
/// broadcast: far longer than its messages, so a client that missed nothing can still resume.
inline constexpr std::chrono::hours kStreamMetaTtl{24};

/// "[<prefix>:]peercable:stream:", the start of every key below.
std::string stream_namespace(std::string_view channel_prefix);

/// The keys of one stream under namespace `ns`: a hash {epoch, offset}, a Redis stream of its broadcasts (entry
/// id "<offset>-0", fields t = unix seconds and d = payload), and the time of the last broadcast Redis did not
/// sequence (a raw Rails PUBLISH).
struct StreamKeys {
  std::string meta;
  std::string log;
  std::string raw;
};
StreamKeys stream_keys(std::string_view ns, std::string_view stream);
/// The sorted set of streams by last use (bounds how many streams Redis keeps).
std::string stream_index_key(std::string_view ns);

/// A sequenced broadcast as published on the peercable channel: "<epoch>\n<offset>\n<payload>".
struct Positioned {
  std::string_view epoch;
  std::uint64_t offset = 0;
  std::string_view payload;
};
std::optional<Positioned> decode_positioned(std::string_view message);

}  // namespace peercable::redis
