#include "cable/cable_server.hpp"

#include <chrono>
#include <ctime>

#include "cable/broadcast.hpp"
#include "cable/channel.hpp"
#include "cable/session.hpp"
#include "json/writer.hpp"

namespace peercable::cable {

// The broker is replaced before any loop runs, so the hubs may keep a reference to the proxy below. The hubs'
// subscriptions to the internal stream stay here: its owner's subscription is the only one, so a client
// leaving it cannot end it.
namespace {
class BrokerProxy final : public broker::Broker {
 public:
  BrokerProxy(std::unique_ptr<broker::Broker>& target, const std::string& internal)
      : target_(target), internal_(internal) {}
  void subscribe(int loop, const std::string& s, Ready r) override {
    if (!internal_.empty() && s == internal_) return r();
    target_->subscribe(loop, s, std::move(r));
  }
  void unsubscribe(int loop, const std::string& s) override {
    if (internal_.empty() || s != internal_) target_->unsubscribe(loop, s);
  }
  void publish(const std::string& s, std::string p) override { target_->publish(s, std::move(p)); }
  void publish_internal(const std::string& s, std::string p) override { target_->publish_internal(s, std::move(p)); }
  void publish_whisper(const std::string& s, std::string p) override { target_->publish_whisper(s, std::move(p)); }
  std::string state() const override { return target_->state(); }

 private:
  std::unique_ptr<broker::Broker>& target_;
  const std::string& internal_;
};
}  // namespace

CableServer::CableServer(std::vector<net::Loop*> loops) {
  broker_ = std::make_unique<broker::LocalBroker>(*this);
  proxy_ = std::make_unique<BrokerProxy>(broker_, internal_stream_);
  for (auto* l : loops) loops_.push_back(std::make_unique<LoopState>(*l, *proxy_));
  set_resume_options(StreamLogOptions{}, std::chrono::seconds(300), 100000);
}

void CableServer::set_resume_options(const StreamLogOptions& log, std::chrono::seconds session_ttl,
                                     std::size_t max_sessions) {
  log_.reset();
  if (log.limit != 0) {
    // A new epoch per process run: offsets from an earlier run name other broadcasts.
    log_ = std::make_unique<StreamLog>(log, SessionStore::new_sid().substr(0, 8));
  }
  sessions_ = std::make_unique<SessionStore>(session_ttl, max_sessions);
}

CableServer::~CableServer() = default;

void CableServer::set_broker(std::unique_ptr<broker::Broker> b) {
  broker_ = std::move(b);
}

void CableServer::set_internal_stream(std::string stream, std::function<void(std::string)> sink) {
  internal_stream_ = std::move(stream);
  internal_sink_ = std::move(sink);
}

void CableServer::add_channel(std::unique_ptr<Channel> c) {
  std::string name(c->name());
  channels_[name] = std::move(c);
}

Channel* CableServer::find_channel(std::string_view name) const {
  auto it = channels_.find(name);
  return it == channels_.end() ? nullptr : it->second.get();
}

void CableServer::start() {
  for (auto& ls : loops_) {
    LoopState* state = ls.get();
    // One timer per loop for all its connections; each session is pinged every 3 s, by groups, and each
    // group shares one frame.
    constexpr auto kTick = std::chrono::milliseconds(3000 / LoopState::kPingGroups);
    state->loop.every(kTick, [state] {
      auto& group = state->ping_groups[state->ping_tick++ % LoopState::kPingGroups];
      if (group.empty()) return;
      std::string ping = "{\"type\":\"ping\",\"message\":";
      json::append_int(ping, static_cast<std::int64_t>(std::time(nullptr)));
      ping += '}';
      auto frame = ws::make_text_frame(ping);
      for (auto* s : group) {
        s->send_frame(frame);
        s->tick();
      }
    });
  }
  if (log_ && !loops_.empty()) {
    // Idle streams let go of their expired broadcasts too (others trim as they go).
    StreamLog* log = log_.get();
    loops_.front()->loop.every(std::chrono::seconds(5), [log] { log->expire(); });
  }
}

void CableServer::deliver(const std::string& stream, std::string payload) {
  if (is_internal(stream)) {
    if (internal_sink_) internal_sink_(std::move(payload));
    return;
  }
  if (log_) {
    auto b = std::make_shared<Broadcast>(stream, std::move(payload));
    std::shared_ptr<const Broadcast> shared = b;
    // Posted to the other loops under the stream's lock: each loop then sees the stream's offsets in order,
    // whichever threads publish on it. This loop delivers at once (as without a log) unless an earlier
    // offset of the stream still waits in its queue.
    net::Loop* here = net::Loop::current();
    LoopState* own = nullptr;
    {
      auto lock = log_->append(*b, shared);
      for (auto& ls : loops_) {
        LoopState* state = ls.get();
        if (&state->loop == here && state->hub.in_order(*b)) {
          own = state;
          continue;
        }
        state->loop.post([state, shared] { state->hub.deliver(shared); });
      }
    }
    if (own) own->hub.deliver(shared);
    return;
  }
  auto b = std::make_shared<const Broadcast>(stream, std::move(payload));
  net::Loop* here = net::Loop::current();
  for (auto& ls : loops_) {
    LoopState* state = ls.get();
    // The calling loop delivers at once (no queue hop: lower latency under load); others get it posted.
    if (&state->loop == here)
      state->hub.deliver(b);
    else
      state->loop.post([state, b] { state->hub.deliver(b); });
  }
}

void CableServer::deliver_at(const std::string& stream, std::string payload,
                             const std::shared_ptr<const std::string>& epoch, std::uint64_t offset) {
  if (is_internal(stream)) return;  // the nodes publish it bare: a positioned copy is someone else's, for no client
  auto b = std::make_shared<Broadcast>(stream, std::move(payload));
  b->set_position(offset, epoch);
  std::shared_ptr<const Broadcast> shared = b;
  // From the broker's one thread, in offset order: each loop's queue keeps that order.
  for (auto& ls : loops_) {
    LoopState* state = ls.get();
    state->loop.post([state, shared] { state->hub.deliver(shared); });
  }
}

void CableServer::whisper(const std::string& stream, std::string payload_json, std::uint64_t from) {
  if (is_internal(stream)) return;
  broker_->publish_whisper(stream, payload_json);
  relay_whisper(stream, std::move(payload_json), from);
}

void CableServer::deliver_whisper(const std::string& stream, std::string payload) {
  if (!is_internal(stream)) relay_whisper(stream, std::move(payload), 0);
}

void CableServer::relay_whisper(const std::string& stream, std::string payload_json, std::uint64_t from) {
  auto b = std::make_shared<const Broadcast>(stream, std::move(payload_json));
  for (auto& ls : loops_) {
    LoopState* state = ls.get();
    state->loop.post([state, b, from] { state->hub.deliver(b, from); });
  }
}

void CableServer::disconnect_remote(const std::string& identifier) {
  for (auto& ls : loops_) {
    LoopState* state = ls.get();
    state->loop.post([state, identifier] {
      std::vector<CableSession*> hit;
      for (auto& group : state->ping_groups)
        for (auto* s : group)
          if (s->user().id == identifier) hit.push_back(s);
      for (auto* s : hit) s->disconnect();
    });
  }
}

void CableServer::restart_share(std::size_t step, std::size_t steps, std::uint64_t seed) {
  for (auto& ls : loops_) {
    LoopState* state = ls.get();
    state->loop.post([state, step, steps, seed] {
      std::vector<CableSession*> share;
      for (auto& group : state->ping_groups)
        for (auto* s : group) {
          // splitmix64: consecutive ids land in unrelated steps, so each step is a random share.
          std::uint64_t z = s->id() + seed + 0x9e3779b97f4a7c15ULL;
          z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
          z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
          if ((z ^ (z >> 31)) % steps == step) share.push_back(s);
        }
      for (auto* s : share) s->restart();  // each closes and leaves its group; the list is ours
    });
  }
}

void CableServer::register_session(LoopState& ls, CableSession* s) {
  auto& group = ls.ping_groups[s->id() % LoopState::kPingGroups];
  s->ping_index = group.size();
  group.push_back(s);
}

void CableServer::unregister_session(LoopState& ls, CableSession* s) {
  std::size_t i = s->ping_index;
  auto& group = ls.ping_groups[s->id() % LoopState::kPingGroups];
  if (i >= group.size() || group[i] != s) return;
  group[i] = group.back();
  group[i]->ping_index = i;
  group.pop_back();
}

}  // namespace peercable::cable
