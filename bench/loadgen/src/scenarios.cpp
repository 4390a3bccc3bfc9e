#include "scenarios.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "clock.hpp"
#include "harness.hpp"
#include "hold_command.hpp"
#include "proc_stats.hpp"
#include "stats.hpp"

namespace loadgen {

namespace {

constexpr std::int64_t kUs = 1'000'000;

std::int64_t seconds_us(double s) {
  return static_cast<std::int64_t>(s * 1e6);
}

double ms_between(std::int64_t from_us, std::int64_t to_us) {
  return static_cast<double>(to_us - from_us) / 1000.0;
}

/// The servers' RSS in KiB, summed, or -1 when there is no server pid or one cannot be read.
long server_rss_kb(const std::vector<int>& pids) {
  long sum = 0;
  for (const int pid : pids) {
    const long kb = read_rss_kb(pid).value_or(-1);
    if (kb < 0) return -1;
    sum += kb;
  }
  return pids.empty() ? -1 : sum;
}

/// The servers' CPU seconds so far, summed, or -1 when there is no server pid or one cannot be read.
double server_cpu_seconds(const std::vector<int>& pids) {
  double sum = 0;
  for (const int pid : pids) {
    const double s = read_cpu_seconds(pid).value_or(-1);
    if (s < 0) return -1;
    sum += s;
  }
  return pids.empty() ? -1 : sum;
}

/// "a,b,c" from a list of numbers.
std::string joined(const std::vector<int>& values) {
  std::string out;
  for (const int v : values) {
    if (!out.empty()) out += ',';
    out += std::to_string(v);
  }
  return out;
}

/// `n` bytes of chat-like text (words, spaces, no JSON escapes): compresses as a chat message does, not as
/// a run of one letter would, so the deflate variants show a realistic saving.
std::string chat_text(std::size_t n) {
  static constexpr std::string_view kWords =
      "hi all, is the call still on at three? i pushed the fix for the upload page, can someone "
      "check it in safari before we ship. sounds good to me, joining in five minutes with the notes ";
  std::string out;
  out.reserve(n);
  while (out.size() < n) out.append(kWords.substr(0, std::min(kWords.size(), n - out.size())));
  return out;
}

/// Shared state of one run: options, harness, deadline, progress output.
struct Run {
  const Options& o;
  Harness h;
  Report& r;
  std::int64_t deadline_us;
  std::string pad;

  Run(const Options& options, Report& report, std::int64_t deadline)
      : o(options),
        h(options),
        r(report),
        deadline_us(deadline),
        pad(chat_text(static_cast<std::size_t>(options.payload_bytes))) {}

  template <typename... Args>
  void progress(const char* fmt, Args... args) const {
    if (o.quiet) return;
    std::fprintf(stderr, "[loadgen %s] ", scenario_name(o.scenario));
    std::fprintf(stderr, fmt, args...);
    std::fputc('\n', stderr);
  }

  /// The client that broadcasts: the first ready one on the first server, else the first ready one.
  Connection* broadcaster() {
    Connection* any = nullptr;
    for (auto& c : h.connections()) {
      if (!c.ready()) continue;
      if (c.server == 0) return &c;
      if (!any) any = &c;
    }
    return any;
  }

  /// Keeps the loop (pings, stragglers) running for `seconds`, bounded by the deadline.
  void idle_for(double seconds) { h.run_until(std::min(deadline_us, now_us() + seconds_us(seconds)), {}); }
};

/// With several servers: the latencies of the subscribers of each one, apart (to compare the node that
/// carries the broadcaster with the others). Empty, and free, with a single server.
class PerServerLatency {
 public:
  explicit PerServerLatency(const Harness& h)
      : by_server_(static_cast<std::size_t>(h.server_count() > 1 ? h.server_count() : 0)) {}
  void add(const Connection& c, std::int64_t us) {
    if (!by_server_.empty()) by_server_[c.server].add(us);
  }
  /// Adds server<i>_latency_* (i from 1, in --port order).
  void report(Report& r) const {
    for (std::size_t i = 0; i < by_server_.size(); ++i)
      r.set_latency("server" + std::to_string(i + 1) + "_latency", by_server_[i].summarize());
  }

 private:
  std::vector<LatencyRecorder> by_server_;
};

/// Wall and CPU time of the measured part of a run, for this process and the server(s).
class PhaseMeter {
 public:
  explicit PhaseMeter(const std::vector<int>& server_pids) : pids_(server_pids) {
    wall0_ = now_us();
    self0_ = self_cpu_seconds();
    server0_ = server_cpu_seconds(pids_);
    machine0_ = read_machine_busy_seconds().value_or(-1);
  }
  void finish(Report& r) const {
    const double wall = static_cast<double>(now_us() - wall0_) / 1e6;
    const double self = self_cpu_seconds() - self0_;
    r.set("phase_wall_s", wall);
    r.set("loadgen_phase_cpu_s", self);
    r.set("loadgen_phase_cpu_util", wall > 0 ? self / wall : 0.0);
    const double server1 = server0_ >= 0 ? server_cpu_seconds(pids_) : -1;
    if (server1 >= 0) {
      r.set("server_phase_cpu_s", server1 - server0_);
      r.set("server_phase_cpu_util", wall > 0 ? (server1 - server0_) / wall : 0.0);
    }
    // Whatever else ran on the machine meanwhile: a busy neighbour makes every figure worse.
    const double machine1 = machine0_ >= 0 ? read_machine_busy_seconds().value_or(-1) : -1;
    if (machine1 >= 0 && wall > 0) {
      const double others = (machine1 - machine0_) - self - std::max(0.0, server1 - server0_);
      r.set("others_phase_cpu_util", std::max(0.0, others / wall));
    }
  }

 private:
  std::vector<int> pids_;
  std::int64_t wall0_ = 0;
  double self0_ = 0;
  double server0_ = -1;   ///< negative when unknown
  double machine0_ = -1;  ///< negative when unknown
};

/// Counts a broadcast delivery against the connection's last sequence number.
void check_order(Connection& c, std::int64_t seq, std::int64_t& out_of_order) {
  if (seq <= c.last_seq) ++out_of_order;
  c.last_seq = std::max(c.last_seq, seq);
}

bool run_fanout(Run& run) {
  Report& r = run.r;
  Connection* sender = run.broadcaster();
  if (!sender) return false;
  LatencyRecorder latency;
  latency.reserve(static_cast<std::size_t>(run.o.rounds) * run.o.clients);
  PerServerLatency by_server(run.h);
  const int warmup = run.o.warmup;
  std::int64_t current = -1, round_count = 0, round_last = 0, deliveries = 0, late = 0, out_of_order = 0, results = 0;
  run.h.set_handler([&](Connection& c, const CableMessage& m, std::int64_t now) {
    if (m.action == "broadcast" && m.seq >= 0) {
      check_order(c, m.seq, out_of_order);
      if (m.seq == current) {
        ++round_count;
        ++deliveries;
        round_last = now;
        latency.add(now - m.t);
        if (m.seq >= warmup) by_server.add(c, now - m.t);
      } else {
        ++late;
      }
    } else if (m.action == "broadcastResult") {
      ++results;
    }
  });

  std::vector<double> round_rates;
  double total_round_s = 0;
  std::int64_t lost = 0, expected_total = 0;
  bool finished = true;
  // The first broadcasts are not measured: they pay for lazy set-up (JIT, buffers) in the servers.
  for (int seq = 0; seq < warmup + run.o.rounds; ++seq) {
    const int round = seq - warmup;
    if (!sender->ready()) sender = run.broadcaster();
    if (!sender) {
      finished = false;
      break;
    }
    const std::int64_t expected = run.h.ready_count();
    current = seq;
    round_count = 0;
    const std::int64_t start = now_us();
    round_last = start;
    run.h.send_text(*sender, action_command("broadcast", seq, start, run.pad));
    const bool all = run.h.run_until(std::min(run.deadline_us, start + seconds_us(run.o.round_timeout)),
                                     [&] { return round_count >= expected; });
    const double secs = static_cast<double>(round_last - start) / 1e6;
    if (round < 0) {
      deliveries -= round_count;
      latency.drop_last(static_cast<std::size_t>(round_count));
      if (!all && now_us() >= run.deadline_us) {
        finished = false;
        break;
      }
      continue;
    }
    expected_total += expected;
    lost += std::max<std::int64_t>(0, expected - round_count);
    if (round_count > 0 && secs > 0) {
      round_rates.push_back(static_cast<double>(round_count) / secs);
      total_round_s += secs;
    }
    run.progress("round %d/%d: %lld/%lld delivered in %.1f ms", round + 1, run.o.rounds,
                 static_cast<long long>(round_count), static_cast<long long>(expected), secs * 1000);
    if (!all && now_us() >= run.deadline_us) {
      finished = false;
      break;
    }
    if (run.o.gap > 0) run.idle_for(run.o.gap);
  }
  current = -1;
  r.set("rounds_done", round_rates.size());
  r.set("expected", expected_total);
  r.set("deliveries", deliveries);
  r.set("lost", lost);
  r.set("late", late);
  r.set("out_of_order", out_of_order);
  r.set("broadcast_results", results);
  r.set("deliveries_per_s", total_round_s > 0 ? static_cast<double>(deliveries) / total_round_s : 0.0);
  r.set("round_deliveries_per_s_median", median(round_rates));
  r.set_latency("latency", latency.summarize());
  by_server.report(r);
  return finished;
}

bool run_sustained(Run& run) {
  Report& r = run.r;
  Connection* sender = run.broadcaster();
  if (!sender) return false;
  const std::int64_t ready = run.h.ready_count();
  const auto total = static_cast<std::int64_t>(std::ceil(run.o.rate * run.o.duration));
  const double interval_us = 1e6 / run.o.rate;
  std::vector<std::uint32_t> per_seq(static_cast<std::size_t>(std::max<std::int64_t>(total, 1)), 0);
  LatencyRecorder latency;
  latency.reserve(static_cast<std::size_t>(total * ready));
  PerServerLatency by_server(run.h);
  std::int64_t delivered = 0, out_of_order = 0, unknown = 0, last_delivery = 0, sent = 0, max_send_lag = 0;
  run.h.set_handler([&](Connection& c, const CableMessage& m, std::int64_t now) {
    if (m.action != "broadcast") return;
    if (m.seq < 0 || m.seq >= total) {
      ++unknown;
      return;
    }
    check_order(c, m.seq, out_of_order);
    ++per_seq[static_cast<std::size_t>(m.seq)];
    ++delivered;
    last_delivery = now;
    latency.add(now - m.t);
    by_server.add(c, now - m.t);
  });

  const std::int64_t start = now_us();
  run.progress("%lld broadcasts at %.0f/s to %lld subscribers", static_cast<long long>(total), run.o.rate,
               static_cast<long long>(ready));
  // Timestamps carry the scheduled send time, so a sender that falls behind shows up as latency.
  auto tick = [&](std::int64_t now) -> std::int64_t {
    while (sent < total) {
      const std::int64_t due = start + static_cast<std::int64_t>(static_cast<double>(sent) * interval_us);
      if (due > now) return due;
      if (!sender->ready()) {
        sender = run.broadcaster();
        if (!sender) return INT64_MAX;
      }
      max_send_lag = std::max(max_send_lag, now - due);
      run.h.send_text(*sender, action_command("broadcast", sent, due, run.pad));
      ++sent;
    }
    return INT64_MAX;
  };
  // Sending stops a second after its window even if the sender fell behind; `sent` tells.
  const std::int64_t send_end = start + seconds_us(run.o.duration) + kUs;
  run.h.run_until(
      std::min(run.deadline_us, send_end), [&] { return sent >= total || !sender; }, tick);
  const std::int64_t sent_at = now_us();
  const std::int64_t expected = sent * ready;
  const std::int64_t drain_end = sent_at + seconds_us(run.o.drain);
  const bool drained = run.h.run_until(std::min(run.deadline_us, drain_end), [&] { return delivered >= expected; });
  const bool finished = send_end <= run.deadline_us && (drained || drain_end <= run.deadline_us);
  // A server that keeps up delivers over the sending window; one that lags stretches the span.
  const double span =
      std::max(static_cast<double>(sent) / run.o.rate, static_cast<double>(last_delivery - start) / 1e6);
  r.set("subscribers", ready);
  r.set("planned", total);
  r.set("sent", sent);
  r.set("expected", expected);
  r.set("deliveries", delivered);
  r.set("lost", std::max<std::int64_t>(0, expected - delivered));
  r.set("out_of_order", out_of_order);
  r.set("unknown", unknown);
  r.set("target_deliveries_per_s", run.o.rate * static_cast<double>(ready));
  r.set("deliveries_per_s", span > 0 ? static_cast<double>(delivered) / span : 0.0);
  r.set("drain_ms", ms_between(sent_at, std::max(sent_at, last_delivery)));
  r.set("max_send_lag_ms", static_cast<double>(max_send_lag) / 1000.0);
  r.set_latency("latency", latency.summarize());
  by_server.report(r);
  return finished;
}

bool run_echo(Run& run) {
  Report& r = run.r;
  LatencyRecorder latency;
  std::int64_t replies = 0, outstanding = 0, sent = 0, stray = 0;
  std::int64_t end = 0;
  run.h.set_handler([&](Connection& c, const CableMessage& m, std::int64_t now) {
    if (m.action != "echo" || m.t < 0) {
      ++stray;
      return;
    }
    --outstanding;
    if (m.t < end) {
      ++replies;
      latency.add(now - m.t);
    }
    if (now < end && run.h.send_text(c, action_command("echo", m.seq + 1, now, run.pad))) {
      ++outstanding;
      ++sent;
    }
  });
  const std::int64_t start = now_us();
  end = start + seconds_us(run.o.duration);
  for (auto& c : run.h.connections()) {
    if (c.ready() && run.h.send_text(c, action_command("echo", 0, start, run.pad))) {
      ++outstanding;
      ++sent;
    }
  }
  run.progress("%lld clients echoing for %.1f s", static_cast<long long>(outstanding), run.o.duration);
  bool finished = run.h.run_until(std::min(run.deadline_us, end), {}) || now_us() >= end;
  const bool drained =
      run.h.run_until(std::min(run.deadline_us, now_us() + seconds_us(run.o.drain)), [&] { return outstanding <= 0; });
  finished = finished && (drained || now_us() < run.deadline_us);
  const double secs = static_cast<double>(end - start) / 1e6;
  r.set("sent", sent);
  r.set("replies", replies);
  r.set("unanswered", std::max<std::int64_t>(0, outstanding));
  r.set("lost", std::max<std::int64_t>(0, outstanding));
  r.set("stray", stray);
  r.set("messages_per_s", secs > 0 ? static_cast<double>(replies) / secs : 0.0);
  r.set_latency("latency", latency.summarize());
  return finished;
}

bool run_idle(Run& run, long rss_before_kb) {
  Report& r = run.r;
  const std::int64_t ready = run.h.ready_count();
  const std::int64_t pings0 = run.h.counters().cable_pings;
  run.idle_for(run.o.settle);
  const long rss_settled_kb = server_rss_kb(run.o.server_pids);
  run.progress("%lld idle connections; holding %.1f s", static_cast<long long>(ready), run.o.duration);
  const std::int64_t hold_end = std::min(run.deadline_us, now_us() + seconds_us(run.o.duration));
  run.h.run_until(hold_end, {});
  const bool finished = now_us() >= hold_end && hold_end < run.deadline_us;
  const long rss_after_kb = server_rss_kb(run.o.server_pids);
  const std::int64_t still = run.h.ready_count();
  r.set("held", still);
  r.set("lost", ready - still);
  r.set("pings_per_client",
        ready > 0 ? static_cast<double>(run.h.counters().cable_pings - pings0) / static_cast<double>(ready) : 0.0);
  if (rss_before_kb >= 0 && rss_after_kb >= 0 && ready > 0) {
    r.set("rss_before_kb", static_cast<std::int64_t>(rss_before_kb));
    r.set("rss_settled_kb", static_cast<std::int64_t>(rss_settled_kb));
    r.set("rss_after_kb", static_cast<std::int64_t>(rss_after_kb));
    r.set("rss_per_conn_bytes",
          static_cast<double>(rss_after_kb - rss_before_kb) * 1024.0 / static_cast<double>(ready));
  }
  return finished;
}

/// One broadcast as this process sees it in the hold scenario.
struct HoldRound {
  bool announced = false;          ///< "round SEQ" was read (deliveries may come before it)
  std::int64_t expected = 0;       ///< subscribers here when it was announced
  std::int64_t deadline_us = 0;    ///< report it by then even if some never got it
  std::int64_t sent_us = -1;       ///< when this process sent it (the broadcaster only)
  std::vector<std::uint32_t> latency_us;  ///< publish-to-receipt, one per subscriber that got it
};

/// Prints `line` and a newline on stdout at once: a driver reads these while the run goes on.
void emit_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

bool run_hold(Run& run) {
  const Harness& h = run.h;
  const auto& k = h.counters();
  // The connect figures come first, as absolute CLOCK_MONOTONIC times, so that a driver can combine
  // several processes into one "first connect .. last subscribed" span.
  std::string ready = R"({"event":"ready","clients":)" + std::to_string(run.o.clients) +
                      R"(,"clients_ready":)" + std::to_string(h.ready_count()) +
                      R"(,"first_start_us":)" + std::to_string(h.first_start_us()) +
                      R"(,"last_welcome_us":)" + std::to_string(h.last_welcome_us()) +
                      R"(,"last_subscribe_us":)" + std::to_string(h.last_subscribe_us()) +
                      R"(,"connect_errors":)" + std::to_string(k.connect_errors) +
                      R"(,"handshake_failures":)" + std::to_string(k.handshake_failures) +
                      R"(,"rejected":)" + std::to_string(k.rejected) +
                      R"(,"unauthorized":)" + std::to_string(k.unauthorized) +
                      R"(,"timeouts":)" + std::to_string(k.timeouts) + "}";
  emit_line(ready);

  std::map<std::int64_t, HoldRound> rounds;
  std::int64_t duplicates = 0, results = 0, rounds_reported = 0, late = 0;
  std::int64_t last_reported = -1;  ///< highest round reported so far; a delivery for a reported one is late
  constexpr std::size_t kMaxOpenRounds = 1024;  // rounds seen but not reported yet (a server sending junk)
  run.h.set_handler([&](Connection& c, const CableMessage& m, std::int64_t now) {
    if (m.action == "broadcastResult") {
      ++results;
      return;
    }
    if (m.action != "broadcast" || m.seq < 0) return;
    if (m.seq <= c.last_seq) {  // a second copy, or older than one already seen
      ++duplicates;
      return;
    }
    c.last_seq = m.seq;
    if (m.seq <= last_reported && !rounds.contains(m.seq)) {
      ++late;  // after its round was reported (--round-timeout): counted there as not received
      return;
    }
    if (rounds.size() >= kMaxOpenRounds && !rounds.contains(m.seq)) {
      ++late;
      return;
    }
    auto& round = rounds[m.seq];
    round.latency_us.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>(now - m.t, 0, 0xFFFFFFFFLL)));
  });

  // Non-blocking while we hold, and as it was afterwards (stdin may be a terminal shared with a shell).
  const int in_fd = STDIN_FILENO;
  const int in_flags = ::fcntl(in_fd, F_GETFL);
  if (in_flags >= 0) ::fcntl(in_fd, F_SETFL, in_flags | O_NONBLOCK);
  std::string in_buffer, line;
  bool quit = false;
  auto report_round = [&](std::int64_t seq, HoldRound& round) {
    std::sort(round.latency_us.begin(), round.latency_us.end());
    std::string out = R"({"event":"round","seq":)" + std::to_string(seq) +
                      R"(,"expected":)" + std::to_string(round.expected) +
                      R"(,"received":)" + std::to_string(round.latency_us.size()) +
                      R"(,"sent_us":)" + std::to_string(round.sent_us) + R"(,"latency_us":[)";
    for (std::size_t i = 0; i < round.latency_us.size(); ++i) {
      if (i) out += ',';
      out += std::to_string(round.latency_us[i]);
    }
    out += "]}";
    emit_line(out);
    ++rounds_reported;
    last_reported = std::max(last_reported, seq);
  };
  // Polls stdin every few milliseconds (it is not on the harness's epoll) and reports finished rounds.
  auto tick = [&](std::int64_t now) -> std::int64_t {
    char buf[512];
    while (!quit) {
      const ssize_t n = ::read(in_fd, buf, sizeof buf);
      if (n > 0) {
        in_buffer.append(buf, static_cast<std::size_t>(n));
        if (in_buffer.size() > 1 << 16) quit = true;  // not a driver talking
      } else {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) quit = true;  // end of input: the driver is gone
        break;
      }
    }
    while (!quit && take_line(in_buffer, line)) {
      const HoldCommand cmd = parse_hold_command(line);
      if (cmd.kind == HoldCommandKind::quit) {
        quit = true;
      } else if (cmd.kind == HoldCommandKind::round) {
        auto& round = rounds[cmd.seq];
        if (round.announced) continue;
        round.announced = true;
        round.expected = run.h.ready_count();
        round.deadline_us = now + seconds_us(run.o.round_timeout);
        if (run.o.broadcaster) {
          if (Connection* sender = run.broadcaster()) {
            round.sent_us = now_us();
            run.h.send_text(*sender, action_command("broadcast", cmd.seq, round.sent_us, run.pad));
          }
        }
      } else {
        run.progress("ignoring unknown command '%s'", line.c_str());
      }
    }
    for (auto it = rounds.begin(); it != rounds.end();) {
      HoldRound& round = it->second;
      if (round.announced &&
          (static_cast<std::int64_t>(round.latency_us.size()) >= round.expected || now >= round.deadline_us)) {
        report_round(it->first, round);
        it = rounds.erase(it);
      } else {
        ++it;
      }
    }
    return now + 2'000;
  };
  run.h.run_until(run.deadline_us, [&] { return quit; }, tick);
  if (in_flags >= 0) ::fcntl(in_fd, F_SETFL, in_flags);
  Report& r = run.r;
  r.set("rounds_reported", rounds_reported);
  r.set("duplicates", duplicates);
  r.set("late", late);
  r.set("broadcast_results", results);
  r.set("held", run.h.ready_count());
  return quit;
}

}  // namespace

RunResult run_scenario(const Options& options) {
  Options o = options;
  if (o.scenario == ScenarioKind::storm) o.connect_rate = 0;
  const std::int64_t t0 = now_us();
  // Keep a little time at the end for closing politely and printing.
  const std::int64_t deadline =
      t0 + seconds_us(o.time_limit) - std::min<std::int64_t>(seconds_us(o.time_limit) / 10, 2 * kUs);

  RunResult result;
  Report& r = result.report;
  r.set("scenario", scenario_name(o.scenario));
  r.set("host", o.host);
  r.set("port", o.ports.front());
  if (o.ports.size() > 1) r.set("ports", joined(o.ports));
  r.set("clients", o.clients);
  r.set("connect_rate", o.connect_rate);
  r.set("payload_bytes", o.payload_bytes);
  if (o.scenario == ScenarioKind::fanout) r.set("rounds", o.rounds);
  if (o.scenario == ScenarioKind::sustained) r.set("rate", o.rate);
  if (o.scenario != ScenarioKind::fanout && o.scenario != ScenarioKind::storm && o.scenario != ScenarioKind::hold)
    r.set("duration_s", o.duration);

  const long fd_limit = raise_fd_limit(static_cast<long>(o.clients) + 64);
  r.set("fd_limit", static_cast<std::int64_t>(fd_limit));
  if (fd_limit < o.clients + 16) {
    o.clients = static_cast<int>(std::max(1L, fd_limit - 16));
    r.set("clients_capped_by_fd_limit", o.clients);
  }

  Run run(o, r, deadline);
  r.set("source_addrs", run.h.source_address_count());
  const long rss_before_kb = server_rss_kb(o.server_pids);

  // Connect phase (the measured phase for storm).
  const PhaseMeter connect_meter(o.server_pids);
  const double pacing_s = o.connect_rate > 0 ? o.clients / o.connect_rate : 0.0;
  // hold runs in several processes on one busy machine, where the servers may accept well below the
  // paced rate: give them up to four times the pacing (its rounds come after, within --time-limit). Each
  // handshake still times out on its own, so a server that does not answer ends this phase early.
  const double connect_slack_s = o.scenario == ScenarioKind::hold ? std::max(20.0, 3 * pacing_s) : 20.0;
  const std::int64_t connect_until = std::min(deadline, now_us() + seconds_us(pacing_s + connect_slack_s));
  const bool all_resolved = run.h.connect_all(connect_until);
  const std::int64_t connected_at = now_us();
  const int ready = run.h.ready_count();
  const auto& k = run.h.counters();
  run.progress("%d/%d subscribed in %.2f s (%lld connect errors, %lld handshake failures, %lld timeouts)", ready,
               o.clients, static_cast<double>(connected_at - t0) / 1e6, static_cast<long long>(k.connect_errors),
               static_cast<long long>(k.handshake_failures), static_cast<long long>(k.timeouts));
  r.set("clients_ready", ready);
  if (run.h.server_count() > 1) {
    std::vector<int> per_server(static_cast<std::size_t>(run.h.server_count()), 0);
    for (const auto& c : run.h.connections())
      if (c.ready()) ++per_server[c.server];
    for (std::size_t i = 0; i < per_server.size(); ++i)
      r.set("server" + std::to_string(i + 1) + "_clients_ready", per_server[i]);
  }
  r.set("connect_s", static_cast<double>(connected_at - t0) / 1e6);
  if (run.h.first_start_us() > 0) {
    r.set("time_to_all_welcomed_ms", ms_between(run.h.first_start_us(), run.h.last_welcome_us()));
    r.set("time_to_all_subscribed_ms", ms_between(run.h.first_start_us(), run.h.last_subscribe_us()));
  }
  r.set_latency("welcome", run.h.welcome_latency().summarize());
  if (o.scenario == ScenarioKind::storm) connect_meter.finish(r);

  bool finished = all_resolved;
  result.usable = ready > 0;
  if (result.usable && o.scenario != ScenarioKind::storm) {
    PhaseMeter meter(o.server_pids);
    switch (o.scenario) {
      case ScenarioKind::fanout: finished = run_fanout(run) && finished; break;
      case ScenarioKind::sustained: finished = run_sustained(run) && finished; break;
      case ScenarioKind::echo: finished = run_echo(run) && finished; break;
      case ScenarioKind::idle: finished = run_idle(run, rss_before_kb) && finished; break;
      case ScenarioKind::hold: finished = run_hold(run) && finished; break;
      case ScenarioKind::storm: break;
    }
    run.h.set_handler({});  // it refers to the scenario's locals, which are gone now
    meter.finish(r);
  }
  if (o.scenario == ScenarioKind::storm)
    r.set("failures", static_cast<std::int64_t>(o.clients - run.h.subscribed_total()));

  run.h.close_all(std::min(t0 + seconds_us(o.time_limit) - 200'000, now_us() + kUs));
  const auto& c = run.h.counters();
  r.set("connect_errors", c.connect_errors);
  r.set("handshake_failures", c.handshake_failures);
  r.set("rejected", c.rejected);
  r.set("unauthorized", c.unauthorized);
  r.set("timeouts", c.timeouts);
  r.set("dropped", c.dropped);
  r.set("protocol_errors", c.protocol_errors);
  r.set("cable_pings", c.cable_pings);
  r.set("ws_pings", c.ws_pings);
  r.set("fragmented_messages", c.fragmented);
  r.set("unparsed_frames", c.unparsed);
  r.set("deflate_offered", o.deflate);
  r.set("deflate_agreed", c.deflate_agreed);
  r.set("extensions", c.extensions);
  r.set("compressed_messages", c.compressed_messages);
  r.set("wire_message_bytes", c.wire_message_bytes);
  r.set("message_bytes", c.message_bytes);
  r.set("protocol", subprotocol_name(o.protocol));
  r.set("history_confirmed", c.history_confirmed);
  r.set("history_rejected", c.history_rejected);
  r.set("positioned_messages", c.positioned_messages);
  r.set("unpositioned_broadcasts", c.unpositioned_broadcasts);
  r.set("offset_gaps", c.offset_gaps);
  r.set("offsets_skipped", c.offsets_skipped);
  r.set("offset_duplicates", c.offset_duplicates);
  r.set("epoch_changes", c.epoch_changes);
  if (!c.first_error.empty()) r.set("first_error", c.first_error);
  if (!o.server_pids.empty()) {
    r.set("server_rss_end_kb", static_cast<std::int64_t>(server_rss_kb(o.server_pids)));
  }
  r.set("loadgen_cpu_s", self_cpu_seconds());
  r.set("wall_s", static_cast<double>(now_us() - t0) / 1e6);
  result.completed = finished && !Harness::stop_requested;
  r.set("completed", result.completed);
  return result;
}

}  // namespace loadgen
