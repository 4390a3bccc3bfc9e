#pragma once
// How a peercable node's broadcast is sequenced in Redis for the stream history
// (docs/adr/0006-stream-history-in-redis.md) and how it comes back: the script that sequences it, and the
// dropping of its bare twin. No I/O.
#include <string>
#include <string_view>

namespace peercable::broker {

/// The Lua script that sequences one broadcast, atomically: the stream's epoch (made once, kept while the stream
/// lives), its next offset, the broadcast kept in a capped Redis stream, the least recently used streams dropped
/// beyond the bound, then the broadcast published twice back to back: with its position on the peercable channel
/// ("<epoch>\n<offset>\n<payload>", see redis::decode_envelope), and bare on the Rails channel (Rails' wire
/// format, byte for byte).
/// With an empty Rails channel it sequences a broadcast a Rails process published bare: only while this node holds
/// the stream's lease (taken when free, renewed by each such broadcast; answers 0 when another node holds it), and
/// published once, "~r\n<epoch>\n<offset>\n<payload>" on the peercable channel (see redis::decode_envelope).
/// KEYS: meta hash, log, index, lease. ARGV: payload, new epoch, limit, ttl ms, meta ttl ms, max streams, stream,
/// peercable channel, Rails channel (or ""), key namespace, node, lease ms. Returns the offset, or 0.
std::string_view sequence_script();
/// The script (EVAL) that marks a stream as having broadcasts no node sequenced after its current last offset: one
/// delivered without a position, or a stream no node follows any more (a Rails process may publish on it unseen).
/// The mark is "<unix time> <last offset>" (redis::StreamKeys::raw); history requests over it are refused.
/// KEYS: meta hash, mark. ARGV: unix time, ttl ms, "always" or "if-sequenced" (nothing when the stream has no offset).
std::string_view mark_script();
/// The script (EVAL, KEYS: lease, ARGV: node) by which a node leaving a stream gives up its lease, if it holds it.
std::string_view release_lease_script();
/// The script's SHA-1 in hex, as EVALSHA takes it.
std::string sequence_script_sha();

/// Decides which bare broadcasts are the twins of sequenced ones. A node subscribed to both channels of a stream
/// gets the two publications of the script adjacent on its subscriber connection (Redis runs a script whole) and
/// keeps the sequenced one; a bare broadcast that does not follow its sequenced twin (a Rails process published
/// it) is kept.
class TwinFilter {
 public:
  /// A sequenced broadcast on `stream` arrived: its bare twin may come next.
  void positioned(std::string_view stream) { expected_.assign(stream); }
  /// A bare broadcast on `stream` arrived: true when it is the twin of the sequenced broadcast just before (drop
  /// it). Ends the wait either way.
  bool is_twin(std::string_view stream);
  /// Any other reply arrived: a twin comes right after its sequenced broadcast or not at all.
  void other() noexcept { expected_.clear(); }

 private:
  std::string expected_;  // the stream whose bare twin may come next; empty when none
};

}  // namespace peercable::broker
