// The extended protocol's history on a session: a subscription's streams held back while what it missed is
// read (from this node's log, or from the store thread when history is in Redis), replayed exactly once and in
// order (offsets already sent are skipped), then released; confirm_history or reject_history.
#include <spdlog/spdlog.h>

#include "cable/broadcast.hpp"
#include "cable/cable_server.hpp"
#include "cable/session.hpp"
#include "cable/stream_log.hpp"
#include "cable/subscription.hpp"
#include "net/loggable.hpp"

namespace peercable::cable {

void CableSession::history(const std::string& identifier, std::optional<HistoryRequest> req, bool malformed) {
  auto it = subs_.find(identifier);
  if (it == subs_.end()) {
    conn_.send_text(type_reply(identifier, "reject_history"));
    return;
  }
  auto sub = it->second;
  sub->history_ = std::move(req);
  sub->history_malformed_ = malformed;
  for (auto& ref : sub->stream_refs_) ref.held = true;
  if (sub->confirmed_) serve_history(*sub);  // else once its streams are live
}

void CableSession::serve_history(Subscription& sub) {
  if (server_.remote_history()) return serve_remote_history(sub);
  auto req = std::move(sub.history_);
  const bool malformed = sub.history_malformed_;
  sub.history_.reset();
  sub.history_malformed_ = false;
  StreamLog* log = server_.stream_log();
  // Only the streams this subscription is on: a request naming others learns nothing about them.
  std::vector<std::vector<BroadcastPtr>> missed(sub.stream_refs_.size());
  HistoryResult result = malformed ? HistoryResult::kUnknownStream : HistoryResult::kOk;
  std::string_view failed;
  for (std::size_t i = 0; req && result == HistoryResult::kOk && i < sub.stream_refs_.size(); ++i) {
    const auto& ref = sub.stream_refs_[i];
    const StreamPosition* pos = nullptr;
    for (const auto& p : req->streams)
      if (p.stream == ref.name) pos = &p;
    if (pos) {
      result = log ? log->after(ref.name, pos->epoch, pos->offset, missed[i]) : HistoryResult::kUnknownStream;
      if (result != HistoryResult::kOk) failed = ref.name;
    } else if (req->since && log) {
      log->since(ref.name, *req->since, missed[i]);
    }
  }
  finish_history(sub, result, failed, missed, malformed);
}

void CableSession::serve_remote_history(Subscription& sub) {
  auto req = std::move(sub.history_);
  const bool malformed = sub.history_malformed_;
  sub.history_.reset();
  sub.history_malformed_ = false;
  std::vector<StreamQuery> queries;
  std::vector<std::size_t> ref_of;  // the stream of each query
  for (std::size_t i = 0; req && !malformed && i < sub.stream_refs_.size(); ++i) {
    const auto& ref = sub.stream_refs_[i];
    const StreamPosition* pos = nullptr;
    for (const auto& p : req->streams)
      if (p.stream == ref.name) pos = &p;
    if (pos) {
      queries.push_back({ref.name, pos->epoch, pos->offset, true, 0});
    } else if (req->since) {
      queries.push_back({ref.name, {}, 0, false, *req->since});
    } else {
      continue;
    }
    ref_of.push_back(i);
  }
  if (queries.empty()) {
    std::vector<std::vector<BroadcastPtr>> none;
    return finish_history(sub, malformed ? HistoryResult::kUnknownStream : HistoryResult::kOk, {}, none, malformed);
  }
  // Answered on the store thread; the subscription's broadcasts wait (held) until the answer is back here. A
  // newer request for the subscription makes this answer moot.
  const std::uint64_t ticket = ++sub.history_ticket_;
  sub.history_asked_ = true;
  std::weak_ptr<Subscription> weak = sub.weak_from_this();
  net::Loop& loop = loop_.loop;
  server_.remote_history()->read(std::move(queries), [weak, ticket, &loop, ref_of](HistoryAnswer a) {
    loop.post([weak, ticket, ref_of, a = std::move(a)]() mutable {
      auto s = weak.lock();
      if (!s || !s->active() || s->history_ticket_ != ticket) return;
      s->history_asked_ = false;
      std::vector<std::vector<BroadcastPtr>> missed(s->stream_refs_.size());
      for (std::size_t q = 0; q < a.missed.size() && q < ref_of.size(); ++q)
        if (ref_of[q] < missed.size()) missed[ref_of[q]] = std::move(a.missed[q]);
      s->session().finish_history(*s, a.result, a.failed, missed, false);
    });
  });
}

void CableSession::finish_history(Subscription& sub, HistoryResult result, std::string_view failed,
                                  std::vector<std::vector<BroadcastPtr>>& missed, bool malformed) {
  if (result == HistoryResult::kOk) {
    for (std::size_t i = 0; i < missed.size() && i < sub.stream_refs_.size(); ++i)
      for (const auto& b : missed[i])
        if (Subscription::take_position(sub.stream_refs_[i], *b)) send_broadcast(sub, *b);
  } else if (malformed) {
    spdlog::info("session {}: malformed history request refused", id_);
  } else {
    spdlog::info("session {}: history of {} refused: {}", id_, net::loggable(failed, 100), to_string(result));
  }
  release(sub);
  conn_.send_text(type_reply(sub.identifier(), result == HistoryResult::kOk ? "confirm_history" : "reject_history"));
}

void CableSession::send_broadcast(Subscription& sub, const Broadcast& b) {
  if (conn_.takes_shared_deflate()) {
    if (auto z = b.deflated_frame_for(sub.identifier(), conn_.loop_deflate(), true)) return conn_.send_frame(z);
  }
  conn_.send_frame(b.frame_for(sub.identifier(), true));
}

void CableSession::release(Subscription& sub) {
  for (auto& ref : sub.stream_refs_) {
    ref.held = false;
    auto pending = std::move(ref.pending);
    ref.pending.clear();
    for (const auto& b : pending)
      if (Subscription::take_position(ref, *b)) send_broadcast(sub, *b);
  }
}

void CableSession::release_overdue() {
  if (std::chrono::steady_clock::now() < hold_until_) return;
  holding_ = false;
  for (auto& [identifier, sub] : subs_)
    if (sub->restored_ && sub->confirmed_ && !sub->history_ && !sub->history_malformed_ && !sub->history_asked_)
      release(*sub);
}

}  // namespace peercable::cable
