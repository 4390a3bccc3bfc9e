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
/// id "<offset>-0", fields t = unix seconds and d = payload), the mark of broadcasts no node sequenced ("<unix time>
/// <last offset then>": one delivered without a position, or a time when no node followed the stream), and the lease
/// of the node that sequences the stream's Rails broadcasts.
struct StreamKeys {
  std::string meta;
  std::string log;
  std::string raw;
  std::string lease;
};
StreamKeys stream_keys(std::string_view ns, std::string_view stream);
/// The sorted set of streams by last use (bounds how many streams Redis keeps).
std::string stream_index_key(std::string_view ns);

/// What travels on a stream's peercable channel ("[prefix:]peercable:ext:<stream>"):
/// - kTwinned, "<epoch>\n<offset>\n<payload>": a broadcast a node sequenced; its bare twin follows at once on the
///   Rails channel;
/// - kRails, "~r\n<epoch>\n<offset>\n<payload>": a broadcast a Rails process published bare, given its position
///   by the node holding the stream's lease; no twin follows (Rails published the bare one);
/// - kWhisper, "~w\n<node>\n<payload>": a client's whisper relayed by node `node`; never positioned nor kept.
struct Envelope {
  enum class Kind { kTwinned, kRails, kWhisper };
  Kind kind = Kind::kTwinned;
  std::string_view epoch;  // kTwinned, kRails
  std::uint64_t offset = 0;
  std::string_view node;  // kWhisper
  std::string_view payload;
};
std::optional<Envelope> decode_envelope(std::string_view message);
/// The kWhisper envelope of `payload` relayed by node `node` (no '\n' in it).
std::string encode_whisper(std::string_view node, std::string_view payload);

}  // namespace peercable::redis
