#include "broker/redis_broker.hpp"

#include <hiredis/async.h>
#include <pthread.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <deque>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "auth/encoding.hpp"
#include "broker/broker_health.hpp"
#include "broker/rails_queue.hpp"
#include "broker/redis_channels.hpp"
#include "broker/stream_sequencing.hpp"
#include "broker/subscription_table.hpp"
#include "json/writer.hpp"
#include "redis/command_args.hpp"
#include "redis/redis_connection.hpp"
#include "redis/redis_sync.hpp"
#include "redis/redis_url.hpp"
#include "redis/stream_keys.hpp"

namespace peercable::broker {
namespace asio = boost::asio;
using redis::parse_redis_url;
using redis::redacted_url;
using redis::redis_client_name;
using redis::redis_command;
using redis::redis_connect_sync;
using redis::RedisConnection;
using redis::RedisEndpoint;
namespace {

// Publishes handed to the broker thread and not yet written: beyond this they are dropped, so a stalled
// Redis or broker thread never grows memory without bound.
constexpr std::size_t kMaxQueuedBytes = 64u << 20;
// PUBLISH commands written to the connection's buffer and not yet sent: the same bound on the socket side.
constexpr std::size_t kMaxUnsentBytes = 64u << 20;
// How long a node's lease on a stream's Rails broadcasts lasts after the last one it sequenced (see RailsQueue).
constexpr std::chrono::milliseconds kRailsLease{2000};
constexpr std::chrono::milliseconds kRailsTick{250};
// Streams a node stays subscribed to with nobody following them there (--stream-linger); beyond, the oldest goes.
constexpr std::size_t kMaxLingering = 10000;

std::string_view str(const redisReply* r) {
  return {r->str, r->len};
}
bool is_str(const redisReply* r) {
  return r && r->type == REDIS_REPLY_STRING;
}

/// The broker thread owns both hiredis connections and every index below; loops and publishers reach
/// it by posting. See docs/adr/0002-redis-broker.md.
class RedisBroker final : public Broker {
 public:
  /// `unreachable` is why the start-up check could not reach Redis (empty if it could): already logged.
  RedisBroker(RedisEndpoint ep, std::string prefix, std::vector<net::Loop*> loops, Sink& sink, std::string unreachable,
              RedisStreamHistory history);
  ~RedisBroker() override;

  void subscribe(int loop, const std::string& stream, Ready ready) override;
  void unsubscribe(int loop, const std::string& stream) override;
  void publish(const std::string& stream, std::string payload) override;
  void publish_internal(const std::string& stream, std::string payload) override;
  void publish_whisper(const std::string& stream, std::string payload) override;
  std::string state() const override;

 private:
  // Touched only on its loop's thread: which subscribe() call of the loop a readiness callback answers,
  // so that one outliving an unsubscribe() (or answering an older subscribe()) is not run.
  struct LoopTickets {
    std::uint64_t next = 0;
    std::unordered_map<std::string, std::uint64_t> current;
  };

  // All of these run on the broker thread.
  enum class Kind { kBroadcast, kInternal, kWhisper };  // sequenced (with history); bare; relayed to other nodes
  void enqueue(const std::string& stream, std::string payload, Kind kind);
  void on_publish(const std::string& stream, std::string payload, Kind kind);
  static void on_sub_reply(redisAsyncContext* ac, void* reply, void* privdata);
  void on_subscribed(std::string_view channel);
  void on_unsubscribed(std::string_view channel);
  void on_message(std::string_view channel, std::string_view payload);
  void on_pmessage(std::string_view channel, std::string_view payload);
  void on_envelope(std::string_view stream, std::string_view message);
  void run(RailsQueue::Actions&& a);
  void deliver_bare(const std::string& stream, std::string payload);
  void rails_tick();
  void linger(const std::string& stream);
  void at_exit();
  void end_lingering(std::chrono::steady_clock::time_point now, bool oldest_only = false);
  void mark(const std::string& stream, bool always);
  static void on_followers(redisAsyncContext* ac, void* reply, void* privdata);
  void sequence(const std::string& stream, const std::string& payload, const RailsQueue::Offer* rails = nullptr);
  void load_script();
  static void on_sequenced(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_rails_sequenced(redisAsyncContext* ac, void* reply, void* privdata);
  void script_failed(const std::string& error, std::string_view outcome);
  struct StreamCall {  // what a reply is about: the stream and (a Rails offer's) id; its callback deletes it
    RedisBroker* self;
    std::string stream;
    std::uint64_t id;
  };
  void send_call(const std::vector<std::string>& args, redisCallbackFn* fn, const std::string& stream,
                 std::uint64_t id);
  std::optional<std::string> reencode(std::string_view channel, std::string_view payload);
  void send(RedisConnection& c, const std::vector<std::string>& args, redisCallbackFn* fn);
  SubscriptionTable::Link link() const;
  void apply(SubscriptionTable::Actions a);
  void post_ready(int loop, std::uint64_t ticket, const std::string& stream, Ready ready);
  void update_health(const std::string& why);

  RedisEndpoint ep_;
  std::string prefix_;
  std::string url_;  // redacted, for logs
  std::vector<net::Loop*> loops_;
  Sink& sink_;
  std::vector<LoopTickets> tickets_;

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  RedisConnection sub_;
  RedisConnection pub_;
  SubscriptionTable table_;  // the streams the subscriber connection carries
  BrokerHealth health_;
  std::uint64_t overflowed_ = 0;  // publishes dropped because Redis could not take them fast enough
  bool overflow_logged_ = false;
  simdjson::dom::parser parser_;
  // Stream history in Redis (all on the broker thread)
  RedisStreamHistory history_;
  std::string ns_;  // key namespace
  std::string index_key_;
  std::string script_sha_;
  std::string limit_arg_, ttl_arg_, meta_ttl_arg_, max_streams_arg_;
  std::mt19937_64 rng_{std::random_device{}()};
  TwinFilter twins_;  // on the subscriber connection
  RailsQueue rails_;  // Rails broadcasts waiting for their position
  asio::steady_timer rails_timer_{io_};
  std::string node_;  // this process among the nodes: its whispers and leases
  std::string lease_arg_;
  std::unordered_set<std::string> leases_;  // streams whose lease this node took (as far as it knows)
  // Streams subscribed for --stream-linger after their last subscriber here left: the deadline of each, and the
  // deadlines in order (an entry whose deadline moved since is skipped).
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> lingering_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> linger_order_;
  std::string last_script_error_;

  std::atomic<std::size_t> queued_bytes_{0};
  std::atomic<std::uint64_t> queue_drops_{0};
  std::thread thread_;
};

RedisBroker::RedisBroker(RedisEndpoint ep, std::string prefix, std::vector<net::Loop*> loops, Sink& sink,
                         std::string unreachable, RedisStreamHistory history)
    : ep_(std::move(ep)),
      prefix_(std::move(prefix)),
      url_(redacted_url(ep_)),
      loops_(std::move(loops)),
      sink_(sink),
      tickets_(loops_.size()),
      work_(io_.get_executor()),
      sub_(io_, ep_, redis_client_name(),
           {[this] { apply(table_.connected()); },
            [this](const std::string& why) {
              apply(table_.lost());  // their subscribers are served locally until Redis is back
              update_health(why);
            }}),
      pub_(io_, ep_, redis_client_name(),
           {[this] {
              load_script();
              update_health({});
            },
            [this](const std::string& why) { update_health(why); }}),
      health_(url_, std::move(unreachable)),
      history_(history),
      ns_(redis::stream_namespace(prefix_)),
      index_key_(redis::stream_index_key(ns_)),
      script_sha_(sequence_script_sha()),
      limit_arg_(std::to_string(history.limit)),
      ttl_arg_(std::to_string(std::chrono::milliseconds(history.ttl).count())),
      meta_ttl_arg_(std::to_string(
          std::chrono::milliseconds(std::max<std::chrono::milliseconds>(history.ttl, redis::kStreamMetaTtl)).count())),
      max_streams_arg_(std::to_string(history.max_streams == 0 ? SIZE_MAX : history.max_streams)) {
  const std::uint64_t id[2] = {rng_(), rng_()};
  node_ = auth::hex_encode(std::string_view(reinterpret_cast<const char*>(id), sizeof id));
  lease_arg_ = std::to_string(kRailsLease.count());
  asio::post(io_, [this] {
    sub_.start();
    pub_.start();
    if (history_.enabled) rails_tick();
  });
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("redis broker: {}", e.what());
      }
    }
  });
  pthread_setname_np(thread_.native_handle(), "redis-broker");
}

RedisBroker::~RedisBroker() {
  try {
    asio::post(io_, [this] {
      rails_timer_.cancel();
      sub_.stop();
      pub_.stop();
      io_.stop();
    });
  } catch (...) {
    io_.stop();  // could not queue the clean stop: stop the thread anyway (the connections close with it)
  }
  if (thread_.joinable()) thread_.join();
  try {
    at_exit();
  } catch (...) {  // the leases expire anyway
  }
}

// At exit (the broker thread is gone, so are its connections): the leases this node holds are given up, so that
// another node sequences Rails' broadcasts at once rather than after the lease expires; and every stream it followed
// that no other node follows now is marked (see on_unsubscribed). Pipelined, with a short timeout; at most
// kMaxExitChecks streams are checked.
void RedisBroker::at_exit() {
  if (!history_.enabled) return;
  constexpr std::size_t kMaxExitChecks = 20000;
  std::vector<std::string> streams;
  table_.for_each_stream([&](const std::string& name) {
    if (streams.size() < kMaxExitChecks) streams.push_back(name);
  });
  if (leases_.empty() && streams.empty()) return;
  auto c = redis_connect_sync(ep_, std::chrono::milliseconds(500), redis_client_name());
  if (!c.context) return;
  redisContext* ctx = c.context.get();
  auto replies = [ctx](std::size_t n, auto&& each) {
    for (std::size_t i = 0; i < n; ++i) {
      auto r = redis::redis_reply(ctx);
      if (!r) return false;
      each(i, r.get());
    }
    return true;
  };
  std::size_t queued = 0;
  for (const auto& s : leases_)
    if (redis::redis_append(ctx, {"EVAL", release_lease_script(), "1", redis::stream_keys(ns_, s).lease, node_}))
      ++queued;
  for (const auto& s : streams)
    if (!redis::redis_append(ctx, {"PUBSUB", "NUMSUB", ext_channel(prefix_, s)})) return;
  if (!replies(queued, [](std::size_t, redisReply*) {})) return;
  std::vector<const std::string*> unfollowed;
  if (!replies(streams.size(), [&](std::size_t i, redisReply* r) {
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->type == REDIS_REPLY_INTEGER &&
            r->element[1]->integer == 0)
          unfollowed.push_back(&streams[i]);
      }))
    return;
  const std::string now = std::to_string(std::time(nullptr));
  queued = 0;
  for (const auto* s : unfollowed) {
    auto keys = redis::stream_keys(ns_, *s);
    if (redis::redis_append(ctx, {"EVAL", mark_script(), "2", keys.meta, keys.raw, now, meta_ttl_arg_, "if-sequenced"}))
      ++queued;
  }
  replies(queued, [](std::size_t, redisReply*) {});
}

std::string RedisBroker::state() const {
  return health_.state();
}

// ---- called by the loops -------------------------------------------------------------------------------

void RedisBroker::subscribe(int loop, const std::string& stream, Ready ready) {
  auto& t = tickets_[static_cast<std::size_t>(loop)];
  std::uint64_t ticket = ++t.next;
  t.current[stream] = ticket;
  asio::post(io_, [this, loop, ticket, stream, ready = std::move(ready)]() mutable {
    apply(table_.want(stream, {loop, ticket, std::move(ready)}, link()));
  });
}

void RedisBroker::unsubscribe(int loop, const std::string& stream) {
  tickets_[static_cast<std::size_t>(loop)].current.erase(stream);
  asio::post(io_, [this, loop, stream] {
    linger(stream);
    apply(table_.drop(loop, stream, link()));
  });
}

void RedisBroker::publish(const std::string& stream, std::string payload) {
  enqueue(stream, std::move(payload), Kind::kBroadcast);
}

void RedisBroker::publish_internal(const std::string& stream, std::string payload) {
  enqueue(stream, std::move(payload), Kind::kInternal);
}

void RedisBroker::publish_whisper(const std::string& stream, std::string payload) {
  enqueue(stream, std::move(payload), Kind::kWhisper);
}

void RedisBroker::enqueue(const std::string& stream, std::string payload, Kind kind) {
  std::size_t bytes = stream.size() + payload.size();
  if (queued_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes > kMaxQueuedBytes) {
    queued_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    queue_drops_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  asio::post(io_, [this, stream, payload = std::move(payload), bytes, kind]() mutable {
    queued_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    on_publish(stream, std::move(payload), kind);
  });
}

// ---- the broker thread -----------------------------------------------------------------------------

void RedisBroker::post_ready(int loop, std::uint64_t ticket, const std::string& stream, Ready ready) {
  loops_[static_cast<std::size_t>(loop)]->post([this, loop, ticket, stream, ready = std::move(ready)] {
    auto& current = tickets_[static_cast<std::size_t>(loop)].current;
    auto it = current.find(stream);
    if (it != current.end() && it->second == ticket) ready();
  });
}

SubscriptionTable::Link RedisBroker::link() const {
  switch (sub_.state()) {
    case RedisConnection::State::kReady: return SubscriptionTable::Link::kReady;
    case RedisConnection::State::kConnecting: return SubscriptionTable::Link::kConnecting;
    default: return SubscriptionTable::Link::kDown;
  }
}

void RedisBroker::apply(SubscriptionTable::Actions a) {
  if (a.subscribe_pattern) send(sub_, {"PSUBSCRIBE", remote_disconnect_pattern(prefix_)}, &RedisBroker::on_sub_reply);
  for (const auto& batch : a.subscribe) {
    std::vector<std::string> args{"SUBSCRIBE"};
    for (const auto& s : batch) {
      // Both channels in one command, the peercable one first: Redis runs a command whole, so when the Rails
      // channel is acknowledged both are live, and a sequenced broadcast always comes with its twin.
      args.push_back(ext_channel(prefix_, s));
      args.push_back(redis_channel(prefix_, s));
    }
    send(sub_, args, &RedisBroker::on_sub_reply);
  }
  for (const auto& s : a.unsubscribe) {
    // The peercable channel first: the Rails channel's acknowledgement is the last of the command.
    send(sub_, {"UNSUBSCRIBE", ext_channel(prefix_, s), redis_channel(prefix_, s)}, nullptr);
    if (history_.enabled) {
      // Nobody here is left to hold its Rails broadcasts for, and another node may take the lease at once.
      rails_.forget(s);
      if (leases_.erase(s) != 0)
        send(pub_, {"EVAL", std::string(release_lease_script()), "1", redis::stream_keys(ns_, s).lease, node_},
             nullptr);
    }
  }
  for (auto& r : a.ready)
    for (auto& w : r.waiters) post_ready(w.loop, w.ticket, r.stream, std::move(w.ready));
  if (a.synced) update_health({});
}

void RedisBroker::on_publish(const std::string& stream, std::string payload, Kind kind) {
  if (queue_drops_.load(std::memory_order_relaxed) != 0)
    spdlog::warn("redis {}: {} broadcasts dropped, more were waiting than the broker could take", url_,
                 queue_drops_.exchange(0, std::memory_order_relaxed));
  redisAsyncContext* ac = health_.online() ? pub_.context() : nullptr;
  if (!ac) {
    if (kind == Kind::kWhisper) return;  // delivered on this node already
    // Pub/sub is at-most-once: while Redis is away, a broadcast reaches this node's own clients only.
    health_.count_local_only();
    sink_.deliver(stream, std::move(payload));
    return;
  }
  if (pub_.unsent_bytes() > kMaxUnsentBytes) {
    ++overflowed_;
    if (!overflow_logged_) {
      spdlog::warn("redis {}: cannot keep up with broadcasts, dropping them until it catches up", url_);
      overflow_logged_ = true;
    }
    return;
  }
  if (overflow_logged_) {
    spdlog::info("redis {}: caught up; {} broadcasts were dropped", url_, overflowed_);
    overflow_logged_ = false;
    overflowed_ = 0;
  }
  if (kind == Kind::kWhisper) {
    // On the peercable channel, which every node with a subscriber on the stream listens to; the node that sent
    // it skips it when it comes back.
    return send(pub_, {"PUBLISH", ext_channel(prefix_, stream), redis::encode_whisper(node_, payload)}, nullptr);
  }
  if (history_.enabled && kind == Kind::kBroadcast) return sequence(stream, payload);
  std::string channel = redis_channel(prefix_, stream);
  const char* argv[3] = {"PUBLISH", channel.data(), payload.data()};
  std::size_t lens[3] = {7, channel.size(), payload.size()};
  redisAsyncCommandArgv(ac, nullptr, nullptr, 3, argv, lens);
}

// A peercable broadcast, or (`rails` set) a Rails broadcast this node offers to sequence if it holds the lease.
void RedisBroker::sequence(const std::string& stream, const std::string& payload, const RailsQueue::Offer* rails) {
  // A new stream's epoch, if this broadcast makes it: 48 random bits in hex.
  const std::uint64_t r = rng_();
  std::string epoch = auth::hex_encode(std::string_view(reinterpret_cast<const char*>(&r), 6));
  auto keys = redis::stream_keys(ns_, stream);
  std::vector<std::string> args{"EVALSHA",
                                script_sha_,
                                "4",
                                keys.meta,
                                keys.log,
                                index_key_,
                                keys.lease,
                                payload,
                                epoch,
                                limit_arg_,
                                ttl_arg_,
                                meta_ttl_arg_,
                                max_streams_arg_,
                                stream,
                                ext_channel(prefix_, stream),
                                rails ? std::string() : redis_channel(prefix_, stream),
                                ns_,
                                node_,
                                lease_arg_};
  if (!rails) return send(pub_, args, &RedisBroker::on_sequenced);
  send_call(args, &RedisBroker::on_rails_sequenced, stream, rails->id);  // unsent: offered again on a tick
}

void RedisBroker::send_call(const std::vector<std::string>& args, redisCallbackFn* fn, const std::string& stream,
                            std::uint64_t id) {
  redisAsyncContext* ac = pub_.context();
  if (!ac) return;
  redis::CommandArgs a(args);
  redisAsyncCommandArgv(ac, fn, new StreamCall{this, stream, id}, a.count(), a.argv(), a.lens());
}

// hiredis calls it once per offer, with no reply when the connection goes: the offer is then refused in effect.
void RedisBroker::on_rails_sequenced(redisAsyncContext*, void* reply, void* privdata) {
  std::unique_ptr<StreamCall> call(static_cast<StreamCall*>(privdata));
  auto* r = static_cast<redisReply*>(reply);
  if (r && r->type == REDIS_REPLY_ERROR)
    call->self->script_failed(std::string(r->str, r->len),
                              "it is offered again, and goes out without a position if it still fails");
  const bool sequenced = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0;
  if (sequenced)
    call->self->leases_.insert(call->stream);
  else if (r && r->type == REDIS_REPLY_INTEGER)
    call->self->leases_.erase(call->stream);  // another node's now
  call->self->rails_.answered(call->stream, call->id, sequenced, std::chrono::steady_clock::now());
}

void RedisBroker::load_script() {
  if (history_.enabled) send(pub_, {"SCRIPT", "LOAD", std::string(sequence_script())}, nullptr);
}

void RedisBroker::on_sequenced(redisAsyncContext*, void* reply, void* privdata) {
  auto* r = static_cast<redisReply*>(reply);
  if (r && r->type == REDIS_REPLY_ERROR)
    static_cast<RedisBroker*>(privdata)->script_failed(std::string(r->str, r->len), "it was not delivered");
}

void RedisBroker::script_failed(const std::string& error, std::string_view outcome) {
  // The script cache was flushed (SCRIPT FLUSH, a failover): load it again for the next broadcasts.
  if (error.rfind("NOSCRIPT", 0) == 0) load_script();
  if (error == last_script_error_) return;
  last_script_error_ = error;
  spdlog::warn("redis {}: a broadcast could not be sequenced for stream history ({}); {}", url_, error, outcome);
}

void RedisBroker::send(RedisConnection& c, const std::vector<std::string>& args, redisCallbackFn* fn) {
  redisAsyncContext* ac = c.context();
  if (!ac) return;  // going down: the lost handler puts every stream back to pending
  redis::CommandArgs a(args);
  redisAsyncCommandArgv(ac, fn, fn ? this : nullptr, a.count(), a.argv(), a.lens());
}

void RedisBroker::update_health(const std::string& why) {
  health_.update(table_.synced() && pub_.state() == RedisConnection::State::kReady, why, table_.size());
}

void RedisBroker::on_sub_reply(redisAsyncContext*, void* reply, void* privdata) {
  auto* self = static_cast<RedisBroker*>(privdata);
  auto* r = static_cast<redisReply*>(reply);
  // No reply: the connection is going away. hiredis may hand us a reply meant for nobody; check its shape.
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 || !is_str(r->element[0])) return;
  std::string_view kind = str(r->element[0]);
  if (kind == "message" && is_str(r->element[1]) && is_str(r->element[2])) {
    std::string_view channel = str(r->element[1]);
    if (auto stream = stream_of_ext_channel(self->prefix_, channel))
      return self->on_envelope(*stream, str(r->element[2]));
    if (self->history_.enabled &&
        self->twins_.is_twin(stream_of_channel(self->prefix_, channel).value_or(std::string_view())))
      return;
    return self->on_message(channel, str(r->element[2]));
  }
  self->twins_.other();
  if (kind == "pmessage" && r->elements >= 4 && is_str(r->element[2]) && is_str(r->element[3])) {
    self->on_pmessage(str(r->element[2]), str(r->element[3]));
  } else if (kind == "subscribe" && is_str(r->element[1])) {
    self->on_subscribed(str(r->element[1]));
  } else if (kind == "unsubscribe" && is_str(r->element[1])) {
    self->on_unsubscribed(str(r->element[1]));
  } else if (kind == "psubscribe") {
    self->apply(self->table_.pattern_subscribed());
  }
}

void RedisBroker::on_subscribed(std::string_view channel) {
  if (stream_of_ext_channel(prefix_, channel)) return;  // its Rails twin's ack follows
  if (auto stream = stream_of_channel(prefix_, channel)) apply(table_.subscribed(std::string(*stream)));
}

void RedisBroker::on_unsubscribed(std::string_view channel) {
  if (stream_of_ext_channel(prefix_, channel)) return;
  auto stream = stream_of_channel(prefix_, channel);
  if (!stream) return;
  std::string name(*stream);
  if (history_.enabled && !sink_.is_internal(name)) {
    // No node following the stream any more means a Rails broadcast on it would be sequenced by nobody: mark it,
    // so that a client resuming over that time is refused, not given a silent gap.
    send_call({"PUBSUB", "NUMSUB", ext_channel(prefix_, name)}, &RedisBroker::on_followers, name, 0);
  }
  apply(table_.unsubscribed(name));
}

void RedisBroker::on_followers(redisAsyncContext*, void* reply, void* privdata) {
  std::unique_ptr<StreamCall> call(static_cast<StreamCall*>(privdata));
  auto* r = static_cast<redisReply*>(reply);
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_INTEGER) return;
  if (r->element[1]->integer == 0) call->self->mark(call->stream, false);
}

std::optional<std::string> RedisBroker::reencode(std::string_view channel, std::string_view payload) {
  // As Rails: the payload is decoded and encoded again; what is not JSON is dropped.
  simdjson::dom::element doc;
  if (parser_.parse(payload.data(), payload.size()).get(doc) != simdjson::SUCCESS) {
    spdlog::debug("redis: dropped a message on {} that is not JSON", channel);
    return std::nullopt;
  }
  std::string out;
  out.reserve(payload.size());
  json::append_value(out, doc);
  return out;
}

void RedisBroker::on_message(std::string_view channel, std::string_view payload) {
  auto stream = stream_of_channel(prefix_, channel);
  if (!stream) return;
  auto* e = table_.find(*stream);
  if (!e || e->second.loops == 0) return;
  auto out = reencode(channel, payload);
  if (!out) return;
  // A broadcast a Rails process published: with the stream history in Redis it waits for its position. The
  // server's own streams are published bare on purpose and never kept.
  if (history_.enabled && !sink_.is_internal(e->first))
    return run(rails_.arrived(e->first, std::move(*out), std::chrono::steady_clock::now()));
  sink_.deliver(e->first, std::move(*out));
}

void RedisBroker::run(RailsQueue::Actions&& a) {
  for (auto& [stream, payload] : a.bare) deliver_bare(stream, std::move(payload));
  for (const auto& offer : a.offers) sequence(offer.stream, offer.payload, &offer);
}

// A Rails broadcast that got no position in time goes out live without one, and history requests on its stream are
// refused while the mark lasts, never answered with a silent gap.
void RedisBroker::deliver_bare(const std::string& stream, std::string payload) {
  auto* e = table_.find(stream);
  if (!e || e->second.loops == 0) return;
  mark(e->first, true);
  sink_.deliver(e->first, std::move(payload));
}

void RedisBroker::rails_tick() {
  const auto now = std::chrono::steady_clock::now();
  run(rails_.tick(now));
  end_lingering(now);
  rails_timer_.expires_after(kRailsTick);
  rails_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) rails_tick();
  });
}

void RedisBroker::on_envelope(std::string_view stream, std::string_view message) {
  auto p = redis::decode_envelope(message);
  if (p && p->kind == redis::Envelope::Kind::kTwinned)
    twins_.positioned(stream);
  else
    twins_.other();
  if (!p) return;
  auto* e = table_.find(stream);
  if (!e || e->second.loops == 0) return;
  if (p->kind == redis::Envelope::Kind::kWhisper) {
    if (p->node == node_) return;  // ours: delivered here already
    if (auto out = reencode(stream, p->payload)) sink_.deliver_whisper(e->first, std::move(*out));
    return;
  }
  if (!history_.enabled) return;
  if (p->kind == redis::Envelope::Kind::kRails) {
    // Delivered when it is one this node holds (it was re-encoded before it was sequenced), else dropped.
    auto m = rails_.positioned(e->first, p->payload);
    for (auto& bare : m.bare) deliver_bare(e->first, std::move(bare));
    if (!m.found) return;
  }
  auto out = reencode(stream, p->payload);
  if (!out) return;
  SubscriptionTable::Stream& s = e->second;
  if (!s.epoch || *s.epoch != p->epoch) s.epoch = std::make_shared<const std::string>(p->epoch);
  sink_.deliver_at(e->first, std::move(*out), s.epoch, p->offset);
}

// The last loop following `stream` here is leaving: the stream stays subscribed for the linger (from the last leaving).
void RedisBroker::linger(const std::string& stream) {
  if (!history_.enabled || history_.linger.count() == 0 || sink_.is_internal(stream)) return;
  const auto deadline = std::chrono::steady_clock::now() + history_.linger;
  auto it = lingering_.find(stream);
  if (it != lingering_.end()) {
    it->second = deadline;  // its entry in the order is moved when it comes up
    return;
  }
  const auto* e = table_.find(stream);
  if (!e || e->second.loops != 1 || !table_.hold(stream)) return;  // another loop still follows it
  if (lingering_.size() >= kMaxLingering) end_lingering(std::chrono::steady_clock::time_point::max(), true);
  lingering_.emplace(stream, deadline);
  linger_order_.emplace_back(deadline, stream);
}

// Ends the lingers due by `now` (one entry per lingering stream, so the order is bounded like the streams), or
// only the oldest one (to make room).
void RedisBroker::end_lingering(std::chrono::steady_clock::time_point now, bool oldest_only) {
  while (!linger_order_.empty() && linger_order_.front().first <= now) {
    auto entry = std::move(linger_order_.front());
    linger_order_.pop_front();
    auto it = lingering_.find(entry.second);
    if (it == lingering_.end()) continue;
    if (!oldest_only && it->second > entry.first) {  // someone left again since: due later
      linger_order_.emplace_back(it->second, std::move(entry.second));
      continue;
    }
    lingering_.erase(it);
    apply(table_.drop(SubscriptionTable::kHolder, entry.second, link()));
    if (oldest_only) return;
  }
}

// `always`: a broadcast went out without a position; else the stream lost its last follower (marked only if it has
// positions to protect).
void RedisBroker::mark(const std::string& stream, bool always) {
  auto keys = redis::stream_keys(ns_, stream);
  send(pub_,
       {"EVAL", std::string(mark_script()), "2", keys.meta, keys.raw, std::to_string(std::time(nullptr)), meta_ttl_arg_,
        always ? "always" : "if-sequenced"},
       nullptr);
}

void RedisBroker::on_pmessage(std::string_view channel, std::string_view payload) {
  auto id = remote_disconnect_identifier(prefix_, channel);
  if (!id) return;
  simdjson::dom::element doc;
  std::string_view type;
  if (parser_.parse(payload.data(), payload.size()).get(doc) != simdjson::SUCCESS || !doc.is_object() ||
      doc["type"].get(type) != simdjson::SUCCESS || type != "disconnect")
    return;
  spdlog::info("redis: remote disconnect of {}", *id);
  sink_.disconnect_remote(std::string(*id));
}

}  // namespace

std::unique_ptr<Broker> make_redis_broker(const RedisOptions& opts, std::vector<net::Loop*> loops, Sink& sink,
                                          const RedisStreamHistory& history) {
  auto parsed = parse_redis_url(opts.url);
  if (!parsed.endpoint) throw std::runtime_error("--redis-url: " + parsed.error);
  const RedisEndpoint& ep = *parsed.endpoint;
  const std::string url = redacted_url(ep);
  auto check = redis_connect_sync(ep, std::chrono::milliseconds(2000), redis_client_name());
  if (check.rejected) {
    const std::string& e = check.error;
    if (e.rfind("NOAUTH", 0) == 0)
      throw std::runtime_error("redis " + url +
                               " requires a password: give it in --redis-url as "
                               "redis://:password@host:port/db (" +
                               e + ")");
    if (e.rfind("WRONGPASS", 0) == 0 || e.find("AUTH") != std::string::npos || e.find("password") != std::string::npos)
      throw std::runtime_error("redis " + url + ": authentication failed (" + e + ")");
    throw std::runtime_error("redis " + url + " refused the connection: " + e);
  }
  if (check.context) {
    // The user may lack channel rights (Redis 7 gives new ACL users none): that too is configuration.
    auto r = redis_command(check.context.get(), {"PSUBSCRIBE", remote_disconnect_pattern(opts.channel_prefix)});
    if (r && r->type == REDIS_REPLY_ERROR)
      throw std::runtime_error("redis " + url + " refused a subscription (" + std::string(r->str, r->len) +
                               "); the user needs channel rights, e.g. ACL SETUSER <user> &*");
  }
  if (!check.context)
    spdlog::warn("redis {}: unreachable at start-up ({}); serving this node's clients only until it answers", url,
                 check.error);
  else
    spdlog::info("redis {}: broker ready{}", url,
                 opts.channel_prefix.empty() ? "" : ", channel prefix " + opts.channel_prefix);
  return std::make_unique<RedisBroker>(ep, opts.channel_prefix, std::move(loops), sink,
                                       check.context ? std::string() : check.error, history);
}

}  // namespace peercable::broker
