#pragma once
// The pub/sub engine between nodes. Streams are subscribed per loop; messages come back through a sink.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace peercable::broker {

/// Receives every message published on a stream this node subscribes to. Called on any thread.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void deliver(const std::string& stream, std::string payload) = 0;
  /// A message sequenced by a history kept outside the node (Redis): `offset` and `epoch` are its position in
  /// `stream`, the same on every node. Called in offset order per stream.
  virtual void deliver_at(const std::string& stream, std::string payload,
                          const std::shared_ptr<const std::string>& epoch, std::uint64_t offset) {
    (void)epoch;
    (void)offset;
    deliver(stream, std::move(payload));
  }
  /// A whisper relayed by another node (Broker::publish_whisper): to every subscriber of `stream` here.
  virtual void deliver_whisper(const std::string& stream, std::string payload) { deliver(stream, std::move(payload)); }
  /// A remote request to disconnect the connections identified by `identifier` (Rails' remote_connections).
  virtual void disconnect_remote(const std::string& identifier) { (void)identifier; }
  /// True for a stream the server reserves for itself (see Broker::publish_internal): what arrives on it is
  /// never taken for a client's broadcast (no stream-history mark).
  virtual bool is_internal(const std::string& stream) const noexcept {
    (void)stream;
    return false;
  }
};

class Broker {
 public:
  using Ready = std::function<void()>;
  virtual ~Broker() = default;
  /// Called on loop `loop`'s thread when the loop gains its first subscriber on `stream`; `ready` is run
  /// later on that same loop once messages published on `stream` are sure to arrive.
  virtual void subscribe(int loop, const std::string& stream, Ready ready) = 0;
  /// Called on loop `loop`'s thread when its last subscriber on `stream` leaves.
  virtual void unsubscribe(int loop, const std::string& stream) = 0;
  /// Publishes `payload` (JSON text) on `stream`; from any thread.
  virtual void publish(const std::string& stream, std::string payload) = 0;
  /// Publishes `payload` on `stream`, a stream the server reserves for itself (node figures), bare: never sequenced
  /// nor kept by a stream history; from any thread.
  virtual void publish_internal(const std::string& stream, std::string payload) = 0;
  /// Relays a whisper already delivered on this node to `stream`'s subscribers on the other nodes; from any thread.
  /// Never sequenced nor kept.
  virtual void publish_whisper(const std::string& stream, std::string payload) = 0;
  /// "local", "connected", "connecting" or "disconnected", for /health.
  virtual std::string state() const = 0;
};

/// The in-process broker: one node, no services; a publish is delivered straight to the sink.
class LocalBroker final : public Broker {
 public:
  explicit LocalBroker(Sink& sink) : sink_(sink) {}
  void subscribe(int, const std::string&, Ready ready) override { ready(); }
  void unsubscribe(int, const std::string&) override {}
  void publish(const std::string& stream, std::string payload) override { sink_.deliver(stream, std::move(payload)); }
  void publish_internal(const std::string& stream, std::string payload) override {
    sink_.deliver(stream, std::move(payload));
  }
  void publish_whisper(const std::string&, std::string) override {}  // no other node
  std::string state() const override { return "local"; }

 private:
  Sink& sink_;
};

}  // namespace peercable::broker
