#include "redis/redis_connection.hpp"

#include <hiredis/sds.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <memory>

namespace peercable::redis {
namespace {

// ---- hiredis event hooks on Asio --------------------------------------------------------------------
//
// hiredis asks for read and write readiness through five hooks; we answer with async_wait on the socket
// it owns. The descriptor is released (never closed) at cleanup: hiredis closes its own fd. A wait
// re-arms the descriptor in epoll, so readiness left over after a partial read is reported again.

class AsioEvents : public std::enable_shared_from_this<AsioEvents> {
 public:
  AsioEvents(asio::io_context& io, redisAsyncContext* ac) : sd_(io, ac->c.fd), ac_(ac) {}

  static void attach(asio::io_context& io, redisAsyncContext* ac) {
    auto ev = std::make_shared<AsioEvents>(io, ac);
    ev->self_ = ev;  // owned by the context until cleanup
    ac->ev.data = ev.get();
    ac->ev.addRead = [](void* p) { static_cast<AsioEvents*>(p)->add(true); };
    ac->ev.delRead = [](void* p) { static_cast<AsioEvents*>(p)->want_read_ = false; };
    ac->ev.addWrite = [](void* p) { static_cast<AsioEvents*>(p)->add(false); };
    ac->ev.delWrite = [](void* p) { static_cast<AsioEvents*>(p)->want_write_ = false; };
    ac->ev.cleanup = [](void* p) { static_cast<AsioEvents*>(p)->cleanup(); };
  }

 private:
  void add(bool read) {
    bool& want = read ? want_read_ : want_write_;
    bool& armed = read ? read_armed_ : write_armed_;
    want = true;
    if (armed) return;
    armed = true;
    auto kind = read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write;
    sd_.async_wait(kind, [self = shared_from_this(), read](const boost::system::error_code& ec) {
      (read ? self->read_armed_ : self->write_armed_) = false;
      if (ec || !self->ac_ || !(read ? self->want_read_ : self->want_write_)) return;
      // The call may free the context (cleanup runs inside it); the hooks re-arm what is still wanted.
      if (read)
        redisAsyncHandleRead(self->ac_);
      else
        redisAsyncHandleWrite(self->ac_);
    });
  }

  void cleanup() {
    ac_ = nullptr;
    want_read_ = want_write_ = false;
    sd_.release();  // cancels the waits; their handlers hold the last references
    auto last = std::move(self_);
  }

  asio::posix::stream_descriptor sd_;
  redisAsyncContext* ac_;
  bool want_read_ = false, want_write_ = false, read_armed_ = false, write_armed_ = false;
  std::shared_ptr<AsioEvents> self_;
};

}  // namespace

RedisConnection::RedisConnection(asio::io_context& io, RedisEndpoint ep, std::string client_name, Handlers handlers)
    : io_(io),
      ep_(std::move(ep)),
      client_name_(std::move(client_name)),
      handlers_(std::move(handlers)),
      connect_timer_(io),
      retry_timer_(io),
      jitter_(static_cast<unsigned>(::getpid()) ^ static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(this))) {}

RedisConnection::~RedisConnection() {
  try {
    stop();
  } catch (...) {  // a timer that cannot be cancelled: nothing left to do at this point
  }
}

std::size_t RedisConnection::unsent_bytes() const noexcept {
  return ac_ && ac_->c.obuf ? sdslen(ac_->c.obuf) : 0;
}

void RedisConnection::start() {
  if (state_ == State::kDown) connect();
}

void RedisConnection::stop() {
  state_ = State::kStopped;
  connect_timer_.cancel();
  retry_timer_.cancel();
  if (auto* ac = ac_) {
    ac_ = nullptr;
    redisAsyncFree(ac);  // runs pending callbacks with no reply; on_disconnect sees kStopped
  }
}

void RedisConnection::connect() {
  state_ = State::kConnecting;
  const std::uint64_t attempt = ++attempt_;
  redisAsyncContext* ac = redisAsyncConnect(ep_.host.c_str(), ep_.port);
  if (!ac) return fail("out of memory");
  if (ac->err) {
    std::string why = ac->errstr;
    redisAsyncFree(ac);
    return fail(std::move(why));
  }
  ac->data = this;
  AsioEvents::attach(io_, ac);
  redisAsyncSetConnectCallback(ac, &RedisConnection::on_connect);
  redisAsyncSetDisconnectCallback(ac, &RedisConnection::on_disconnect);
  ac_ = ac;

  // Sent at once; hiredis writes them when the TCP connect completes. The last reply ends the handshake.
  handshake_error_.clear();
  handshake_left_ = 0;
  auto send = [&](std::initializer_list<std::string_view> args) {
    const char* argv[3];
    std::size_t lens[3];
    int n = 0;
    for (auto a : args) {
      argv[n] = a.data();
      lens[n++] = a.size();
    }
    if (redisAsyncCommandArgv(ac, &RedisConnection::on_handshake_reply, this, n, argv, lens) == REDIS_OK)
      ++handshake_left_;
  };
  if (!ep_.password.empty()) {
    if (ep_.user.empty())
      send({"AUTH", ep_.password});
    else
      send({"AUTH", ep_.user, ep_.password});
  }
  std::string db = std::to_string(ep_.db);
  send({"SELECT", db});
  send({"CLIENT", "SETNAME", client_name_});

  connect_timer_.expires_after(kConnectTimeout);
  connect_timer_.async_wait([this, attempt](const boost::system::error_code& ec) {
    if (ec || attempt != attempt_ || state_ != State::kConnecting) return;
    fail("timed out connecting");
  });
}

void RedisConnection::fail(std::string why) {
  if (state_ == State::kDown || state_ == State::kStopped) return;
  state_ = State::kDown;
  connect_timer_.cancel();
  if (auto* ac = ac_) {
    ac_ = nullptr;
    // Inside a hiredis callback this only marks the context; hiredis frees it when the callback returns.
    redisAsyncFree(ac);
  }
  // Handlers run outside hiredis' call stack, so they may freely send commands on other connections.
  asio::post(io_, [this, why = std::move(why)] {
    if (state_ == State::kStopped) return;
    if (handlers_.lost) handlers_.lost(why);
    schedule_retry();
  });
}

void RedisConnection::schedule_retry() {
  // ±20% jitter so that nodes cut off together do not all come back in the same millisecond.
  auto ms = delay_.count();
  std::uniform_int_distribution<long> spread(ms * 8 / 10, ms * 12 / 10);
  retry_timer_.expires_after(std::chrono::milliseconds(spread(jitter_)));
  delay_ = std::min(delay_ * 2, kMaxRetry);
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && state_ == State::kDown) connect();
  });
}

void RedisConnection::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisConnection*>(ac->data);
  if (!self || self->ac_ != ac) return;
  if (status != REDIS_OK) {
    self->ac_ = nullptr;  // hiredis frees the context after this callback
    self->fail(ac->errstr);
    return;
  }
  redisEnableKeepAlive(const_cast<redisContext*>(&ac->c));
#ifdef TCP_USER_TIMEOUT
  // Keepalive finds a silent peer only while nothing is unacknowledged; with PUBLISHes in flight the
  // kernel would retransmit for many minutes. Give up after 30 s instead, like keepalive does.
  unsigned int user_timeout_ms = 30000;
  ::setsockopt(ac->c.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
#endif
}

void RedisConnection::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisConnection*>(ac->data);
  if (!self || self->ac_ != ac) return;  // we freed it ourselves
  self->ac_ = nullptr;
  self->fail(status == REDIS_OK ? "closed" : (ac->errstr[0] ? ac->errstr : "connection lost"));
}

void RedisConnection::on_handshake_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<RedisConnection*>(privdata);
  auto* r = static_cast<redisReply*>(reply);
  if (!r || self->ac_ != ac || self->state_ != State::kConnecting) return;
  if (r->type == REDIS_REPLY_ERROR && self->handshake_error_.empty()) self->handshake_error_.assign(r->str, r->len);
  if (--self->handshake_left_ > 0) return;
  if (!self->handshake_error_.empty()) return self->fail(self->handshake_error_);
  self->state_ = State::kReady;
  self->delay_ = kFirstRetry;
  self->connect_timer_.cancel();
  if (self->handlers_.ready) self->handlers_.ready();
}

}  // namespace peercable::redis
