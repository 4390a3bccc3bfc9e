// Turns the raw results of a run into docs/benchmarks.md and the plots in docs/bench/.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { SERVERS } from "./servers.mjs";
import { METRICS, REDIS_METRICS } from "./plan.mjs";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** A readable number: thousands separated, fewer decimals as it grows. */
function num(v) {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  const d = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: 0 });
}

/** Median, min and max of `key` over the clean-or-not runs of `server` in `group`. */
export function stat(results, group, server, key) {
  const vals = results
    .filter((r) => r.group === group && r.server === server && r.result && Number.isFinite(r.result[key]))
    .map((r) => r.result[key]);
  return { n: vals.length, med: median(vals), min: Math.min(...vals), max: Math.max(...vals) };
}

/** Median, min and max over runs of the server's CPU time per delivery, in µs. */
function cpuPerDelivery(results, group, server) {
  const vals = results
    .filter((r) => r.group === group && r.server === server && r.result?.deliveries > 0 && Number.isFinite(r.result.server_phase_cpu_s))
    .map((r) => (r.result.server_phase_cpu_s * 1e6) / r.result.deliveries);
  return { n: vals.length, med: median(vals), min: Math.min(...vals), max: Math.max(...vals) };
}

function cell(s) {
  if (!s.n) return "–";
  if (s.n === 1 || s.min === s.max) return num(s.med);
  return `${num(s.med)} (${num(s.min)}–${num(s.max)})`;
}

/** "1.23×" for a / b of two medians; empty when either is missing or b is not positive. */
function ratioCell(a, b) {
  if (!a.n || !b.n || !(b.med > 0)) return "";
  const ratio = a.med / b.med;
  return `${ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}×`;
}

/** "a / b / …" of the medians of `keys`, or "–" when there is none. */
function medians(results, group, server, keys) {
  const stats = keys.map((k) => stat(results, group, server, k));
  return stats.every((s) => !s.n) ? "–" : stats.map((s) => num(s.med)).join(" / ");
}

function groupTitle(g) {
  const arg = (name) => {
    const i = g.args.indexOf(name);
    return i >= 0 ? g.args[i + 1] : undefined;
  };
  const extra = [];
  if (arg("--payload-bytes")) extra.push(`${num(Number(arg("--payload-bytes")))}-byte chat text`);
  if (g.deflate) extra.push("**clients offer permessage-deflate**");
  const base = baseTitle(g, arg);
  return extra.length ? `${base}, ${extra.join(", ")}` : base;
}

function baseTitle(g, arg) {
  switch (g.scenario) {
    case "fanout": return `fan-out to ${num(g.clients)} subscribers (${arg("--rounds")} broadcasts, one at a time)`;
    case "sustained": return `sustained ${arg("--rate")} broadcasts/s × ${num(g.clients)} subscribers for ${arg("--duration")} s`;
    case "echo": return `echo, ${num(g.clients)} clients in closed loop for ${arg("--duration")} s`;
    case "idle": return `${num(g.clients)} idle subscribed connections`;
    case "storm": return `connection storm: ${num(g.clients)} clients connect at once`;
  }
  return g.id;
}

/**
 * The line after which docs/benchmarks.md is written by hand: bench/run regenerates everything above it
 * and keeps everything from it to the end of the file, as it was.
 */
export const HAND_WRITTEN_MARKER = "<!-- hand-written: bench/run keeps everything below this line -->";

/** The hand-written tail of an existing report (from the marker on), or the marker alone. */
export function handWrittenPart(previous) {
  const at = previous.indexOf(HAND_WRITTEN_MARKER);
  return at < 0 ? HAND_WRITTEN_MARKER + "\n" : previous.slice(at);
}

/** A server's label; the `peercable` entry says how many loops it ran. */
function label(s, m) {
  if (s === "peercable") return `peercable, ${m.peercableThreads} loop${m.peercableThreads === 1 ? "" : "s"}`;
  return SERVERS[s].label;
}

/** Writes the markdown report and the plots; returns the markdown's path. */
export function writeReport({ summary, docsDir, root, resultsFile }) {
  const { machine: m, results } = summary;
  const plotDir = join(docsDir, "bench");
  mkdirSync(plotDir, { recursive: true });
  const plots = makePlots(root, resultsFile, plotDir);
  // The scale-out groups, and the composite server they use, have a section of their own.
  // Groups a stopped run never reached are left out, and named in the introduction.
  const ran = (g) => results.some((r) => r.group === g.id);
  const notRun = summary.groups.filter((g) => !ran(g));
  const groups = summary.groups.filter((g) => !g.section && ran(g));
  const redisGroups = summary.groups.filter((g) => g.section === "redis" && results.some((r) => r.group === g.id));
  const serversUsed = summary.servers.filter(
    (s) => !SERVERS[s]?.composite && !SERVERS[s]?.variantOf && results.some((r) => r.server === s && groups.some((g) => g.id === r.group)));
  const peers = serversUsed.filter((s) => !s.startsWith("peercable"));
  const ours = serversUsed.filter((s) => s.startsWith("peercable"));
  const base = ours[0];
  // Every peercable variant against every peer, then two loops against one, all from medians of this run.
  // Rails, measured on small fan-outs only, is compared with the single loop alone.
  const ratioPairs = ours.flatMap((o) => peers.filter((p) => o === base || p !== "rails").map((p) => [o, p]));
  if (ours.includes("peercable") && ours.includes("peercable-2t") && m.peercableThreads === 1)
    ratioPairs.push(["peercable-2t", "peercable"]);
  const lines = [];
  const w = (s = "") => lines.push(s);

  w("# Benchmarks");
  w();
  w("How fast peercable delivers Action Cable traffic compared with other servers speaking the same protocol on the");
  w("same machine: uWebSockets.js (the fastest WebSocket server we know of, using its native pub/sub), Node's `ws`, and");
  w("Rails' own Action Cable. Every server runs the same `BenchmarkChannel` (stream `all`; `echo` transmits the data");
  w("back; `broadcast` broadcasts it to `all` and transmits it to the sender as `broadcastResult`) and sends the same");
  w("JSON frames as Rails, so the load generator cannot tell them apart. peercable is the only one that checks the token.");
  w();
  w(`Generated by \`bench/run\` on ${summary.startedAt.slice(0, 10)} in ${Math.round(summary.seconds / 60)} minutes; every` +
    ` figure is the median of ${summary.groups[0]?.reps ?? 1} runs (min–max in brackets), servers alternating run by run; each run`);
  w("starts a fresh server process on a free loopback port. The load generator (`bench/loadgen`, C++, one epoll thread)");
  w("and the server share the machine, so absolute numbers depend on it; the ratios, measured in one sitting, are the");
  w("result. Noise between runs on a shared machine is easily ±30%.");
  w();
  if (notRun.length) {
    const planned = summary.groups.reduce((n, g) => n + g.reps * g.servers.length, 0);
    w(`**This run was stopped after ${results.length} of ${planned} planned runs**; these groups were not run, so this page`);
    w(`has no figures for them: ${notRun.map((g) => `\`${g.id}\``).join(", ")}.`);
    w();
  }
  w("## Machine");
  w();
  w("| | |");
  w("|---|---|");
  w(`| CPU | ${m.cpu}, ${m.nproc} cores (shared by server and load generator) |`);
  w(`| kernel | ${m.kernel} |`);
  w(`| memory | ${m.memoryGiB} GiB |`);
  w(`| open files limit | ${m.fdLimit} (hard limit; caps the idle test) |`);
  w(`| peercable | commit ${m.commit}, \`--threads ${m.peercableThreads}\`${serversUsed.includes("peercable-2t") ? " and `--threads 2` (the default on 2 cores)" : ""}, built with g++ ${m.gxx} (Release) |`);
  w(`| uWebSockets.js | ${m.uws} on Node ${m.node} |`);
  w(`| ws | ${m.ws} on Node ${m.node} |`);
  w(`| Rails | ruby ${m.ruby}, ${m.puma}, async adapter, 5 puma threads, 4 Action Cable workers |`);
  w();
  if (groups.length) {
    w("## Results");
    w();
    const ratioHead = ratioPairs.map(([a, b]) => `${label(a, m)} / ${label(b, m)}`);
    w(`| test | metric | ${serversUsed.map((s) => label(s, m)).join(" | ")} | ${ratioHead.join(" | ")} |`);
    w(`|---|---|${serversUsed.map(() => "---:").join("|")}|${ratioPairs.map(() => "---:").join("|")}|`);
    for (const g of groups) {
      let first = true;
      for (const metric of METRICS[g.scenario]) {
        const stats = serversUsed.map((s) => (g.servers.includes(s) ? stat(results, g.id, s, metric.key) : { n: 0 }));
        if (stats.every((s) => !s.n)) continue;
        const of = (s) => (g.servers.includes(s) ? stat(results, g.id, s, metric.key) : { n: 0 });
        const ratios = ratioPairs.map(([a, b]) =>
          metric.key === "lost" || metric.key === "failures" ? "" : ratioCell(of(a), of(b)));
        const unit = metric.unit ? ` (${metric.unit})` : "";
        const arrow = metric.better === "higher" ? "↑" : "↓";
        w(`| ${first ? groupTitle(g) : ""} | ${metric.label}${unit} ${arrow} | ${stats.map(cell).join(" | ")} | ${ratios.join(" | ")} |`);
        first = false;
      }
    }
    w();
    w("↑ higher is better, ↓ lower is better. A ratio a / b above 1 means a's figure is the larger one: better for");
    w("throughput, worse for latency and memory. Every ratio is of two medians measured in this run, servers alternating.");
    w();
  }
  if (groups.some((g) => g.deflate)) writeDeflateSection(w, { results, groups, serversUsed, m });
  writeVariantSection(w, { results, groups, m });
  if (groups.length) writeTargets(w, results, base ?? "peercable");
  if (plots.length) {
    w("## Scaling with the number of subscribers (fan-out)");
    w();
    for (const p of plots) w(`![${p.title}](bench/${p.file})`);
    w();
  }
  if (redisGroups.length) writeRedisSection(w, { results, groups: redisGroups, m, reps: summary.groups[0]?.reps ?? 1 });
  if (groups.length) {
    w("## Who was busy");
    w();
    w("CPU used during the measured phase, in cores (median of runs): the server, the load generator, and every other");
    w(`process on the machine. A load generator near 1.0 means the figures say more about it than about the server;`);
    w(`"others" well above 0 means a neighbour was competing for the ${m.nproc} cores during that test.`);
    w();
    w(`| test | ${serversUsed.map((s) => `${label(s, m)}: server / loadgen / others`).join(" | ")} |`);
    w(`|---|${serversUsed.map(() => "---:").join("|")}|`);
    for (const g of groups) {
      const cells = serversUsed.map((s) => {
        if (!g.servers.includes(s)) return "–";
        const sv = stat(results, g.id, s, "server_phase_cpu_util");
        const lg = stat(results, g.id, s, "loadgen_phase_cpu_util");
        const ot = stat(results, g.id, s, "others_phase_cpu_util");
        return `${num(sv.med)} / ${num(lg.med)} / ${num(ot.med)}`;
      });
      w(`| ${g.id} | ${cells.join(" | ")} |`);
    }
    w();
  }
  const contended = results.filter((r) => r.result?.others_phase_cpu_util > 0.5).length;
  w(contended
    ? `${contended} of ${results.length} runs had other processes using more than half a core on average while measuring;` +
      " treat differences smaller than the min–max spread as noise."
    : "No run had other processes using more than half a core while measuring.");
  w();
  const bad = results.filter((r) => r.problems.length);
  w("## Runs with losses, drops or errors");
  w();
  w("A server that cannot keep up with a sustained load shows here as messages not delivered within the drain time;");
  w("that is a measured outcome, not a fault of the benchmark.");
  w();
  if (!bad.length) w("None: every run had all clients subscribed, nothing lost, no connection dropped, no server exit.");
  for (const r of bad) w(`- ${r.group}, ${label(r.server, m)}, run ${r.rep}: ${r.problems.join("; ")}`);
  w();
  w("## How to reproduce");
  w();
  w("```sh");
  w("bench/run            # installs what is missing, builds, runs everything below, rewrites this page");
  w("bench/run --smoke    # a minute-long check that every server delivers (used in CI)");
  w("bench/run --only fanout-1000 --servers peercable,uws --reps 5   # one group, chosen servers");
  w("bench/run --only redis --no-build                                # only the two-node (Redis) comparison");
  w("```");
  w();
  if (groups.length) {
    w("Servers (`$PORT` is a free port, `$SECRET` a fresh JWT secret; the load generator gets a token signed with it):");
    w();
    w("```sh");
    for (const s of serversUsed) {
      const run = results.find((r) => r.server === s && r.serverCommand);
      if (run) w(run.serverCommand);
    }
    w("```");
    w();
    w("Load generator, per test (plus `--port $PORT --path /cable?token=$TOKEN --server-pid $PID --json`):");
    w();
    w("```sh");
    for (const g of groups) w(`build/peercable-loadgen --scenario ${g.scenario} ${g.args.join(" ")} --time-limit ${g.limit}`);
    w("```");
    w();
    if (groups.some((g) => g.deflate)) {
      w("In the groups whose load generator command has `--deflate`, the peers are started with `--deflate` too");
      w("(peercable negotiates permessage-deflate by default).");
      w();
    }
    w("```sh");
    w("```");
    w();
  }
  if (redisGroups.length) w("The two-node comparison has its commands in its own section above.\n");
  w("What the scenarios measure (see `build/peercable-loadgen --help`):");
  w();
  w("- **fanout**: one client sends `broadcast` with a timestamp; a round ends when every subscriber, the sender");
  w("  included, has it. deliveries/s = deliveries ÷ the summed time from send to last delivery; latency is send → receipt");
  w("  per delivery.");
  w("- **sustained**: one client sends broadcasts at a fixed rate, stamped with their *scheduled* send time (a sender");
  w("  that falls behind shows as latency); after sending stops the run waits for stragglers, then counts what never came.");
  w("- **echo**: every client sends `echo` and sends the next as soon as the answer is back.");
  w("- **idle**: server RSS (`/proc/<pid>/status` VmRSS) before connecting and after holding the subscribed");
  const idle = groups.find((g) => g.scenario === "idle");
  if (idle) {
    w(`  connections, divided by their number. Sized ${num(idle.clients)} here: the machine's hard`);
    w("  open-files limit bounds both the server and the load generator.");
  } else {
    w("  connections, divided by their number.");
  }
  w("- **storm**: every client connects at once; time until the last one is welcomed and subscribed.");
  w();
  w("Notes:");
  w();
  w(`- peercable runs once with \`--threads ${m.peercableThreads}\`, like the peers, which are single-threaded (Node) or`);
  w("  bound by one Ruby process, and once with two event loops, which is what users get by default on two cores");
  w("  (`--threads` defaults to one loop per core). The load generator needs a core too, so two loops share the");
  w("  machine's two cores with it: the 2-loop figures show the cross-loop path (a post to every loop per broadcast)");
  w("  under contention, not what two free cores would give.");
  w("- Node `ws` is used as npm installs it, with the native `bufferutil` helper for masking.");
  w("- Rails is measured on fan-out only, at 100 and 1,000 subscribers: at its rate the other tests would take minutes.");
  w(`- In the storm test the servers' accept queues overflow (the kernel caps a listen backlog at somaxconn = ${m.somaxconn});`);
  w("  the dropped SYNs are retried after 1 s and then 3 s, which is what the slowest clients wait for.");
  w();
  w(`Raw per-run results are written to \`${relative(root, resultsFile)}\` (not committed).`);
  w();
  const md = join(docsDir, "benchmarks.md");
  // Sections written by hand (measurements made with other tools) live after the marker and survive.
  const previous = existsSync(md) ? readFileSync(md, "utf8") : "";
  writeFileSync(md, lines.join("\n") + "\n" + handWrittenPart(previous));
  return md;
}

/**
 * The scale-out section: each group on one node with the in-process broker and on two nodes through Redis,
 * clients spread over both, with the ratio of the two.
 */
function writeRedisSection(w, { results, groups, m, reps }) {
  const one = "peercable";
  const two = "peercable-redis";
  w("## Two nodes through Redis");
  w();
  w("The same fan-out and sustained traffic once on one peercable node with its in-process broker, and once with");
  w("the clients spread over two nodes (client by client, the broadcasting client on the first node) that share");
  w("their broadcasts through a Redis of their own, as in [scaling.md](scaling.md). Through Redis every broadcast");
  w("makes the trip to Redis and back to each node, the publishing one included; both setups ran alternately,");
  w(`${reps} times each, every run with fresh processes.`);
  w();
  w(`| test | metric | ${SERVERS[one].label}, one node (in-process broker) | ${SERVERS[two].label} | two nodes via Redis / one node in-process |`);
  w("|---|---|---:|---:|---:|");
  for (const g of groups) {
    let first = true;
    const row = (label, a, b, ratio = "") => {
      w(`| ${first ? groupTitle(g) : ""} | ${label} | ${a} | ${b} | ${ratio} |`);
      first = false;
    };
    for (const metric of REDIS_METRICS) {
      const a = stat(results, g.id, one, metric.key);
      const b = stat(results, g.id, two, metric.key);
      if (!a.n && !b.n) continue;
      const unit = metric.unit ? ` (${metric.unit})` : "";
      const arrow = metric.better === "higher" ? "↑" : "↓";
      row(`${metric.label}${unit} ${arrow}`, cell(a), cell(b), metric.key === "lost" ? "" : ratioCell(b, a));
    }
    for (const n of [1, 2]) {
      const where = n === 1 ? "node 1 (the broadcaster's)" : "node 2";
      const keys = [`server${n}_latency_p50_ms`, `server${n}_latency_p99_ms`];
      row(`latency p50 / p99 (ms), subscribers on ${where}`, "–", medians(results, g.id, two, keys));
    }
    const cpu = ["server_phase_cpu_util", "loadgen_phase_cpu_util", "others_phase_cpu_util"];
    row("CPU (cores): servers / loadgen / others", medians(results, g.id, one, cpu), medians(results, g.id, two, cpu));
  }
  w();
  w("Figures are medians (min–max in brackets). A ratio above 1 means the two-node figure is the larger one: better");
  w("for throughput, worse for latency. \"servers\" is the CPU of the node, or of both nodes and Redis together.");
  w();
  w(`Everything shares the same ${m.nproc} cores. Every node runs \`--threads ${m.peercableThreads}\`, so one node fans out on`);
  w("one event loop while two nodes have two, competing with the load generator and Redis for the cores. The ratios");
  w("say whether the Redis round trip costs more than splitting the fan-out over two loops gains on this machine;");
  w("they do not measure what nodes on separate machines add (each of those carries the fan-out of its own clients).");
  w();
  w("Processes (`$REDIS_PORT`, `$PORT…` free ports) and the load generator:");
  w();
  w("```sh");
  for (const [server, what] of [[one, "one node, in-process broker"], [two, "two nodes via Redis"]]) {
    const run = results.find((r) => r.server === server && r.serverCommand && groups.some((g) => g.id === r.group));
    if (run) w(`# ${what}\n${run.serverCommand}`);
  }
  w("# load generator (one node: --port $PORT --server-pid $PID)");
  for (const g of groups) {
    w(`build/peercable-loadgen --port $PORT1,$PORT2 --server-pid $PID1,$PID2,$REDIS_PID --scenario ${g.scenario} ${g.args.join(" ")} --time-limit ${g.limit}`);
  }
  w("```");
  w();
}

/**
 * Browser-like clients: what each server negotiated when offered permessage-deflate, how much of the
 * bandwidth it saved, and what compression cost against the same traffic without the offer.
 */
function writeDeflateSection(w, { results, groups, serversUsed, m }) {
  const deflateGroups = groups.filter((g) => g.deflate);
  w("## Browser-like clients: permessage-deflate");
  w();
  w("Every browser offers `permessage-deflate; client_max_window_bits` (Chromium's exact offer) and most servers accept");
  w("it, so the groups marked **clients offer permessage-deflate** have the load generator make that offer, inflate what");
  w("comes back compressed (RSV1) and check it as usual. The peers are started with compression on: uWebSockets.js with");
  w("`SHARED_COMPRESSOR`, `ws` with `perMessageDeflate` (its defaults, threshold 512 bytes); both compress messages");
  w("of 512 bytes or more, as peercable does. The 1 KB groups without the offer carry the same messages uncompressed,");
  w("so the difference between a pair is the cost of compression.");
  w();
  w("What each server answered (`Sec-WebSocket-Extensions`, as received by the load generator), and the bytes of");
  w("message payloads on the wire against the same messages inflated (medians of runs):");
  w();
  w("| test | server | negotiated | messages compressed | wire / inflated bytes | saved |");
  w("|---|---|---|---:|---:|---:|");
  for (const g of deflateGroups) {
    let first = true;
    for (const s of serversUsed.filter((x) => g.servers.includes(x))) {
      const runs = results.filter((r) => r.group === g.id && r.server === s && r.result);
      if (!runs.length) continue;
      const ext = runs.map((r) => r.result.extensions).find((e) => e) ?? "(none)";
      const agreed = stat(results, g.id, s, "deflate_agreed");
      const clients = stat(results, g.id, s, "clients_ready");
      const comp = stat(results, g.id, s, "compressed_messages");
      const wire = stat(results, g.id, s, "wire_message_bytes");
      const full = stat(results, g.id, s, "message_bytes");
      const traffic = g.scenario !== "idle";  // idle connections carry pings only
      const saved = traffic && wire.n && full.n && full.med > 0 ? `${((1 - wire.med / full.med) * 100).toFixed(0)}%` : "–";
      const negotiated = `\`${ext}\`${agreed.n && clients.n && agreed.med < clients.med ? ` (${num(agreed.med)} of ${num(clients.med)})` : ""}`;
      const bytes = traffic ? `${num(wire.med)} / ${num(full.med)}` : "–";
      w(`| ${first ? groupTitle(g) : ""} | ${label(s, m)} | ${negotiated} | ${traffic ? num(comp.med) : "–"} | ${bytes} | ${saved} |`);
      first = false;
    }
  }
  w();
  const pairs = deflateGroups
    .map((g) => [groups.find((p) => p.id === g.id.replace("-deflate", "") && !p.deflate), g])
    .filter(([p]) => p);
  if (pairs.length) {
    w("The cost of compression: each server's figure with the offer divided by its figure without (same messages, same");
  w("number of connections):");
    w();
    const servers = serversUsed.filter((s) => pairs.some(([, g]) => g.servers.includes(s)));
    w(`| test | metric | ${servers.map((s) => label(s, m)).join(" | ")} |`);
    w(`|---|---|${servers.map(() => "---:").join("|")}|`);
    for (const [plain, g] of pairs) {
      let first = true;
      for (const metric of METRICS[g.scenario].filter((x) => x.key !== "lost" && x.key !== "rss_before_kb")) {
        const cells = servers.map((s) => ratioCell(stat(results, g.id, s, metric.key), stat(results, plain.id, s, metric.key)));
        w(`| ${first ? groupTitle(g).replace(/, \*\*clients offer permessage-deflate\*\*/, "") : ""} | ${metric.label} with / without |` +
          ` ${cells.join(" | ")} |`);
        first = false;
      }
      if (g.scenario !== "idle") {
        const cpu = servers.map((s) => {
          const a = cpuPerDelivery(results, g.id, s);
          const b = cpuPerDelivery(results, plain.id, s);
          return a.n && b.n ? `${num(b.med)} → ${num(a.med)} µs (${ratioCell(a, b)})` : "–";
        });
        w(`| | server CPU per delivery, without → with | ${cpu.join(" | ")} |`);
      }
    }
    w();
  }
}

/**
 * Extended-protocol clients next to plain ones, and stream history on (the default) against off: each
 * variant's median against its base's in the same group (runs alternating), with the ratio.
 */
function writeVariantSection(w, { results, groups, m }) {
  const ran = (g, s) => g.servers.includes(s) && results.some((r) => r.group === g.id && r.server === s);
  const pairsIn = (pairs) => pairs.filter(([v, b]) => groups.some((g) => ran(g, v) && ran(g, b)));
  const extPairs = pairsIn([["peercable-ext", "peercable"], ["peercable-2t-ext", "peercable-2t"]]);
  const histPairs = pairsIn([["peercable", "peercable-nohist"]]);
  if (!extPairs.length && !histPairs.length) return;
  const loops = (s) => (s.startsWith("peercable-2t") ? "2 loops" : `${m.peercableThreads} loop${m.peercableThreads === 1 ? "" : "s"}`);
  const table = (pairs, head) => {
    w(`| test | metric | ${pairs.map((p) => head(p).join(" | ")).join(" | ")} |`);
    w(`|---|---|${pairs.map(() => "---:|---:|---:").join("|")}|`);
    for (const g of groups.filter((x) => pairs.some(([a, b]) => ran(x, a) && ran(x, b)))) {
      let first = true;
      const row = (label, cells) => {
        w(`| ${first ? groupTitle(g) : ""} | ${label} | ${cells.join(" | ")} |`);
        first = false;
      };
      for (const metric of METRICS[g.scenario]) {
        const unit = metric.unit ? ` (${metric.unit})` : "";
        const arrow = metric.better === "higher" ? "↑" : "↓";
        row(`${metric.label}${unit} ${arrow}`, pairs.flatMap(([a, b]) => {
          const sa = stat(results, g.id, a, metric.key);
          const sb = stat(results, g.id, b, metric.key);
          return [cell(sb), cell(sa), metric.key === "lost" ? "" : ratioCell(sa, sb)];
        }));
      }
      row("server CPU per delivery (µs) ↓", pairs.flatMap(([a, b]) => {
        const ca = cpuPerDelivery(results, g.id, a);
        const cb = cpuPerDelivery(results, g.id, b);
        return [cell(cb), cell(ca), ratioCell(ca, cb)];
      }));
    }
    w();
  };
  w("## Extended protocol: stream positions and history");
  w();
  w("peercable also speaks AnyCable's `actioncable-v1-ext-json` ([protocol.md](protocol.md#extended-protocol-actioncable-v1-ext-json)):");
  w("every broadcast carries `stream_id`, `epoch` and `offset`, and each stream's last broadcasts are kept for clients");
  w("that missed them. Its defaults keep that history (100 broadcasts per stream, 300 s, in memory) whatever the");
  w("clients speak, so every peercable figure above was measured with it on. The groups above also ran these");
  w("variants, alternating with the others run by run:");
  w();
  w("- **ext clients**: the same server; the load generator (`--protocol ext`) offers `actioncable-v1-ext-json` alone");
  w("  and subscribes with a history request (`\"history\":{\"since\":<now>,\"streams\":{}}`), as `@anycable/web` does,");
  w("  reads each broadcast's position and checks that offsets come one by one per stream.");
  w("- **no stream history**: plain clients, the server started with `--stream-history-limit 0` (no history, no positions).");
  w();
  if (extPairs.length) {
    w("Extended-protocol clients against plain Action Cable clients of the same server (medians, min–max in brackets;");
    w("a ratio is ext / plain):");
    w();
    table(extPairs, ([, b]) => [`${loops(b)}: plain`, `${loops(b)}: ext`, "ext / plain"]);
  }
  if (histPairs.length) {
    w("Plain clients with stream history on (the default) against none (`--stream-history-limit 0`); a ratio is");
    w("on / off:");
    w();
    table(histPairs, ([a]) => [`${loops(a)}: no history`, `${loops(a)}: history (default)`, "on / off"]);
  }
  const extRuns = results.filter((r) => r.result?.protocol === "actioncable-v1-ext-json");
  if (extRuns.length) {
    const sum = (k) => extRuns.reduce((n, r) => n + (r.result[k] ?? 0), 0);
    w(`Checked in the ${extRuns.length} runs with ext clients: ${num(sum("history_confirmed"))} of ${num(sum("clients_ready"))}` +
      ` subscriptions had their history request confirmed (${num(sum("history_rejected"))} rejected);` +
      ` ${num(sum("positioned_messages"))} positioned broadcasts received, ${num(sum("unpositioned_broadcasts"))} broadcasts` +
      ` without a position, ${num(sum("offset_gaps"))} offset gaps, ${num(sum("offset_duplicates"))} duplicate offsets,` +
      ` ${num(sum("epoch_changes"))} epoch changes.`);
    w();
  }
}

function makePlots(root, resultsFile, plotDir) {
  try {
    const out = execFileSync("/usr/bin/python3", [join(root, "bench/driver/plot.py"), resultsFile, plotDir], {
      encoding: "utf8",
      timeout: 120000,
    });
    return JSON.parse(out);
  } catch (e) {
    console.error(`plots not made: ${e.message}`);
    return [];
  }
}

/** The issue's performance targets against this run's medians: met or missed, and by how much. */
function writeTargets(w, results, pc) {
  const has = (g) => results.some((r) => r.group === g);
  const med = (g, server, key) => stat(results, g, server, key);
  const rows = [];
  const ratio = (a, b) => (a.n && b.n && b.med > 0 ? a.med / b.med : NaN);
  // A ratio to a server left out of this run (--servers) is not measured, not missed.
  const row = (target, measured, ok, note = "") => {
    const known = !measured.includes("NaN");
    const state = ok === null || !known ? "not measured" : ok ? "met" : "missed";
    rows.push(`| ${target} | ${known ? measured : "–"} | ${state} | ${known ? note : ""} |`);
  };
  if (has("fanout-5000")) {
    const d = ratio(med("fanout-5000", pc, "deliveries_per_s"), med("fanout-5000", "uws", "deliveries_per_s"));
    const p = ratio(med("fanout-5000", pc, "latency_p99_ms"), med("fanout-5000", "uws", "latency_p99_ms"));
    row("fan-out 5k: deliveries/s ≥ 1.0× uWebSockets.js", `${d.toFixed(2)}×`, d >= 1);
    row("fan-out 5k: p99 ≤ uWebSockets.js", `${p.toFixed(2)}×`, p <= 1, p > 1 ? `by ${((p - 1) * 100).toFixed(0)}%; see [profile](profile.md)` : "");
  }
  if (has("sustained-150x1000")) {
    const lost = med("sustained-150x1000", pc, "lost");
    const p = ratio(med("sustained-150x1000", pc, "latency_p99_ms"), med("sustained-150x1000", "uws", "latency_p99_ms"));
    row("sustained 150/s × 1k: nothing lost", num(lost.med), lost.n && lost.max === 0);
    row("sustained 150/s × 1k: p99 ≤ uWebSockets.js", `${p.toFixed(2)}×`, p <= 1);
  }
  if (has("echo-1000")) {
    const e = ratio(med("echo-1000", pc, "messages_per_s"), med("echo-1000", "uws", "messages_per_s"));
    row("echo: messages/s ≥ 1.0× uWebSockets.js", `${e.toFixed(2)}×`, e >= 1);
  }
  if (has("fanout-1000")) {
    const r = ratio(med("fanout-1000", pc, "deliveries_per_s"), med("fanout-1000", "rails", "deliveries_per_s"));
    row("fan-out 1k: ≥ 25× Rails Action Cable", `${r.toFixed(1)}×`, r >= 25,
      r < 25 ? `by ${(25 / r).toFixed(1)}×: fan-out is kernel-bound (one sendmsg per delivery), see [profile](profile.md)` : "");
  }
  const idle = results.find((r) => r.group.startsWith("idle-") && !r.group.startsWith("idle-deflate-"))?.group;
  if (idle) {
    const b = med(idle, pc, "rss_per_conn_bytes");
    row(`idle: ≤ 4 KiB RSS per connection (${idle.slice(5)} connections)`, `${num(b.med)} B`, b.med <= 4096,
      "20k in the target; the machine's open-files limit caps the test");
    const d = med(idle.replace(/^idle-/, "idle-deflate-"), pc, "rss_per_conn_bytes");
    if (d.n) {
      const r = ratio(d, b);
      row("idle with deflate negotiated (Chromium's offer): ≤ 2× the RSS per connection without", `${r.toFixed(2)}× (${num(d.med)} B)`, r <= 2);
    }
  }
  row("100k connections held, one broadcast to all with p99 < 1 s", "–", null,
    "the sandbox's hard open-files limit is 20,000 and cannot be raised; see [profile](profile.md)");
  w("## Targets");
  w();
  w("| target | measured (median ratio or value) | | note |");
  w("|---|---:|---|---|");
  for (const r of rows) w(r);
  w();
}
