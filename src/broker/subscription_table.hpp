#pragma once
// Which streams the Redis broker's subscriber connection carries, as a state machine without I/O: events go in
// (a loop wants a stream or lets it go, the connection is ready or lost, Redis acknowledged a SUBSCRIBE or an
// UNSUBSCRIBE), what to do comes out (streams to SUBSCRIBE or UNSUBSCRIBE, readiness callbacks to run, whether
// the connection now carries everything). The broker does the I/O. No threads: one caller at a time.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace peercable::broker {

class SubscriptionTable {
 public:
  using Ready = std::function<void()>;
  /// The subscriber connection as an event finds it.
  enum class Link { kDown, kConnecting, kReady };
  /// A stream's subscription on the connection.
  enum class State { kPending, kSubscribing, kLive, kUnsubscribing };
  /// Streams per SUBSCRIBE when every stream is subscribed again after a reconnect.
  static constexpr std::size_t kSubscribeBatch = 256;

  /// The readiness callback of loop `loop`'s subscribe() number `ticket`.
  struct Waiter {
    int loop;
    std::uint64_t ticket;
    Ready ready;
  };
  /// Callbacks to run now for `stream`: messages published on it are sure to arrive (or Redis is away and the
  /// node serves it alone).
  struct Released {
    std::string stream;
    std::vector<Waiter> waiters;
  };
  /// What to do after an event, in this order: PSUBSCRIBE the remote-disconnect pattern, SUBSCRIBE each batch
  /// (one command each), UNSUBSCRIBE each stream, run the released callbacks.
  struct Actions {
    bool subscribe_pattern = false;
    std::vector<std::vector<std::string>> subscribe;
    std::vector<std::string> unsubscribe;
    std::vector<Released> ready;
    bool synced = false;  // this event completed the connection's subscriptions (pattern and every stream)
  };
  /// One stream some loop wants, or one whose UNSUBSCRIBE is not yet acknowledged.
  struct Stream {
    int loops = 0;  // loops with local subscribers
    State state = State::kPending;
    std::vector<Waiter> waiting;  // readiness callbacks until the SUBSCRIBE is acknowledged
    // The broker's stream-history state, kept here so that it goes with the stream:
    std::shared_ptr<const std::string> epoch;  // of the last sequenced broadcast (shared by the next ones)
  };

  /// Loop `w.loop` gained its first subscriber on `stream`. Its callback runs at once when the stream is live or
  /// Redis is down (the stream is subscribed once Redis is back); else once the SUBSCRIBE is acknowledged.
  Actions want(const std::string& stream, Waiter w, Link link);
  /// Loop `loop` lost its last subscriber on `stream`: its callbacks are dropped; the last loop's leaving
  /// unsubscribes the stream (kept until acknowledged, so that a new subscriber meanwhile waits for it).
  Actions drop(int loop, const std::string& stream, Link link);
  /// The loop number of a hold: no loop, no callbacks.
  static constexpr int kHolder = -1;
  /// Keeps `stream` subscribed as if one more loop wanted it, until drop(kHolder, ...): a node lingering on a stream
  /// nobody here follows now. False (nothing held) when the table does not have the stream or is unsubscribing it.
  bool hold(const std::string& stream);
  /// The connection is ready: the pattern and every stream are subscribed again, in batches.
  Actions connected();
  /// The connection was lost: every stream waits to be subscribed again, and its callbacks run now (Redis is
  /// away: the node serves its subscribers alone); streams no loop wants are forgotten.
  Actions lost();
  /// Redis acknowledged the SUBSCRIBE of `stream` (the last channel of its command).
  Actions subscribed(const std::string& stream);
  /// Redis acknowledged the UNSUBSCRIBE of `stream`: forgotten, or subscribed again when a loop came back.
  Actions unsubscribed(const std::string& stream);
  /// Redis acknowledged the PSUBSCRIBE of the remote-disconnect pattern.
  Actions pattern_subscribed();

  /// True once the connection carries the pattern and every stream wanted when it became ready.
  bool synced() const noexcept { return synced_; }
  using Entry = std::pair<const std::string, Stream>;
  /// The stream's entry (its name and state), or null. No allocation: it runs for every message received.
  Entry* find(std::string_view stream);
  /// How many streams it holds (wanted, or waiting for their UNSUBSCRIBE acknowledgement).
  std::size_t size() const noexcept { return streams_.size(); }
  /// Calls `f(name)` for every stream held.
  template <class F>
  void for_each_stream(F&& f) const {
    for (const auto& [name, s] : streams_) f(name);
  }

 private:
  void subscribe(Actions& out, std::vector<std::string> batch);
  static void release(Actions& out, const std::string& name, Stream& s);
  void forget_sync();  // a new connection, or none: nothing is subscribed on it yet
  void check_synced(Actions& out);

  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  std::unordered_map<std::string, Stream, NameHash, std::equal_to<>> streams_;
  std::unordered_set<std::string> resync_;  // subscribed since the connection became ready, not yet acknowledged
  bool pattern_live_ = false;
  bool synced_ = false;
};

}  // namespace peercable::broker
