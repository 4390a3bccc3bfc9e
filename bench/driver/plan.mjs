// What a benchmark run measures: groups of identical loadgen invocations, each run on every server in
// turn (A/B/C, A/B/C, …) so that slow drifts of a shared machine hit every server alike.

/** Metrics shown per scenario; `better` says which direction wins. */
export const METRICS = {
  fanout: [
    { key: "deliveries_per_s", label: "deliveries/s", better: "higher", unit: "" },
    { key: "latency_p50_ms", label: "latency p50", better: "lower", unit: "ms" },
    { key: "latency_p99_ms", label: "latency p99", better: "lower", unit: "ms" },
    { key: "latency_max_ms", label: "latency max", better: "lower", unit: "ms" },
  ],
  sustained: [
    { key: "deliveries_per_s", label: "deliveries/s", better: "higher", unit: "" },
    { key: "latency_p50_ms", label: "latency p50", better: "lower", unit: "ms" },
    { key: "latency_p99_ms", label: "latency p99", better: "lower", unit: "ms" },
    { key: "lost", label: "not delivered", better: "lower", unit: "" },
  ],
  echo: [
    { key: "messages_per_s", label: "echoes/s", better: "higher", unit: "" },
    { key: "latency_p50_ms", label: "round trip p50", better: "lower", unit: "ms" },
    { key: "latency_p99_ms", label: "round trip p99", better: "lower", unit: "ms" },
  ],
  idle: [
    { key: "rss_per_conn_bytes", label: "server RSS per connection", better: "lower", unit: "B" },
    { key: "rss_before_kb", label: "server RSS before", better: "lower", unit: "KiB" },
  ],
  storm: [
    { key: "time_to_all_subscribed_ms", label: "time to all subscribed", better: "lower", unit: "ms" },
    { key: "welcome_p99_ms", label: "connect→welcome p99", better: "lower", unit: "ms" },
    { key: "failures", label: "failed connections", better: "lower", unit: "" },
  ],
};

/** What the scale-out section shows: the same traffic on one node and on two nodes through Redis. */
export const REDIS_METRICS = [
  { key: "deliveries_per_s", label: "deliveries/s", better: "higher", unit: "" },
  { key: "latency_p50_ms", label: "latency p50", better: "lower", unit: "ms" },
  { key: "latency_p99_ms", label: "latency p99", better: "lower", unit: "ms" },
  { key: "lost", label: "not delivered", better: "lower", unit: "" },
];

/**
 * Variants of a peercable entry (servers.mjs): extended-protocol clients, and no stream history. They run in
 * the fan-out and sustained groups whenever their base runs (or when named in --servers), and are reported
 * next to their base in a section of their own. The smoke test runs the first one only.
 */
export const VARIANTS = {
  peercable: ["peercable-ext", "peercable-nohist"],
  "peercable-2t": ["peercable-2t-ext"],
};

/**
 * The groups to run. `fdLimit` is the hard RLIMIT_NOFILE the servers and the load generator get;
 * the idle group is sized under it. Groups with `section: "redis"` compare one peercable node (in-process
 * broker) with two nodes sharing broadcasts through Redis, clients spread over both; they run whenever
 * peercable is among the servers and are reported apart. Groups with `deflate: true` have the load generator
 * offer permessage-deflate as Chromium does and the peers started with --deflate; their results also say
 * what each server negotiated.
 */
export function makePlan({ smoke, servers, fdLimit, reps }) {
  const have = (names) => names.filter((n) => servers.includes(n));
  const fast = have(["peercable", "peercable-2t", "uws", "ws"]);
  const scaleOut = have(["peercable", "peercable-redis"]).length ? ["peercable", "peercable-redis"] : [];
  const variantNames = Object.values(VARIANTS).flat();
  const variants = variantNames.filter((v) => servers.includes(v) || servers.some((s) => VARIANTS[s]?.includes(v)));
  const groups = [];
  const add = (g) => {
    const list = g.servers.length ? g.servers : [];
    if (list.length) groups.push({ reps, ...g, servers: list });
  };
  if (smoke) {
    const all = have(["peercable", "peercable-2t", "uws", "ws", "rails"]);
    const ext = variants.filter((v) => v === "peercable-ext");
    add({ id: "fanout-50", scenario: "fanout", clients: 50, servers: [...all, ...ext],
      args: ["--clients", "50", "--rounds", "5", "--gap", "0.02"], limit: 30 });
    add({ id: "sustained-50", scenario: "sustained", clients: 50, servers: [...all, ...ext],
      args: ["--clients", "50", "--rate", "20", "--duration", "2", "--drain", "5"], limit: 40 });
    add({ id: "echo-50", scenario: "echo", clients: 50, servers: all,
      args: ["--clients", "50", "--duration", "1", "--drain", "3"], limit: 30 });
    add({ id: "idle-200", scenario: "idle", clients: 200, servers: fast,
      args: ["--clients", "200", "--duration", "1", "--settle", "0.5"], limit: 30 });
    add({ id: "storm-200", scenario: "storm", clients: 200, servers: fast, args: ["--clients", "200"], limit: 30 });
    // Browser-like clients: deflate negotiated, messages big enough that every server compresses them.
    add({ id: "fanout-50-1kb-deflate", scenario: "fanout", clients: 50, servers: fast, deflate: true,
      args: ["--clients", "50", "--rounds", "3", "--gap", "0.02", "--payload-bytes", "1024", "--deflate"], limit: 30 });
    add({ id: "redis-fanout-50", scenario: "fanout", clients: 50, servers: scaleOut, section: "redis",
      args: ["--clients", "50", "--rounds", "3", "--gap", "0.02"], limit: 30 });
    add({ id: "redis-sustained-50", scenario: "sustained", clients: 50, servers: scaleOut, section: "redis",
      args: ["--clients", "50", "--rate", "20", "--duration", "2", "--drain", "5"], limit: 40 });
    return groups;
  }
  const rate = ["--connect-rate", "5000"];
  for (const n of [100, 1000, 2500, 5000, 10000]) {
    const withRails = n <= 1000 ? have(["rails"]) : [];
    add({ id: `fanout-${n}`, scenario: "fanout", clients: n, sweep: "fanout", servers: [...fast, ...withRails, ...variants],
      args: ["--clients", String(n), "--rounds", "20", "--round-timeout", "10", ...(withRails.length ? ["--connect-rate", "1000"] : rate)],
      limit: 60 + Math.ceil(n / 1000) * 2 });
  }
  add({ id: "sustained-150x1000", scenario: "sustained", clients: 1000, servers: [...fast, ...variants],
    args: ["--clients", "1000", "--rate", "150", "--duration", "10", "--drain", "10", ...rate], limit: 60 });
  // Past what a single-threaded Node server can push: shows how each one degrades (latency, losses).
  add({ id: "sustained-350x1000", scenario: "sustained", clients: 1000, servers: [...fast, ...variants],
    args: ["--clients", "1000", "--rate", "350", "--duration", "5", "--drain", "10", ...rate], limit: 50 });
  add({ id: "echo-1000", scenario: "echo", clients: 1000, servers: fast,
    args: ["--clients", "1000", "--duration", "5", "--drain", "5", ...rate], limit: 40 });
  const idle = Math.max(1000, Math.min(20000, fdLimit - 200));
  add({ id: `idle-${idle}`, scenario: "idle", clients: idle, servers: fast,
    args: ["--clients", String(idle), "--duration", "3", "--settle", "1", ...rate], limit: 90 });
  add({ id: "storm-5000", scenario: "storm", clients: 5000, servers: fast, args: ["--clients", "5000"], limit: 60 });
  // Browser-like clients: every browser offers permessage-deflate. The same traffic with 1 KB chat-like
  // messages (big enough that every server compresses them) without and with the offer, so the cost of
  // compression is the difference; and idle connections with deflate negotiated.
  const kb = ["--payload-bytes", "1024"];
  for (const deflate of [false, true]) {
    const d = deflate ? ["--deflate"] : [];
    const tag = deflate ? "-deflate" : "";
    add({ id: `fanout-2500-1kb${tag}`, scenario: "fanout", clients: 2500, servers: fast, deflate,
      args: ["--clients", "2500", "--rounds", "20", "--round-timeout", "10", ...kb, ...d, ...rate], limit: 70 });
    add({ id: `sustained-150x1000-1kb${tag}`, scenario: "sustained", clients: 1000, servers: fast, deflate,
      args: ["--clients", "1000", "--rate", "150", "--duration", "10", "--drain", "10", ...kb, ...d, ...rate], limit: 60 });
  }
  add({ id: `idle-deflate-${idle}`, scenario: "idle", clients: idle, servers: fast, deflate: true,
    args: ["--clients", String(idle), "--duration", "3", "--settle", "1", "--deflate", ...rate], limit: 90 });
  // The same fan-out and sustained traffic with the clients spread over two nodes and Redis in between.
  add({ id: "redis-fanout-5000", scenario: "fanout", clients: 5000, servers: scaleOut, section: "redis",
    args: ["--clients", "5000", "--rounds", "20", "--round-timeout", "10", ...rate], limit: 70 });
  add({ id: "redis-sustained-150x1000", scenario: "sustained", clients: 1000, servers: scaleOut, section: "redis",
    args: ["--clients", "1000", "--rate", "150", "--duration", "10", "--drain", "10", ...rate], limit: 60 });
  return groups;
}
