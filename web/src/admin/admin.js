// The operators' live view: asks /admin/api/stats once a second with the admin key (Authorization: Bearer)
// and draws every node's figures: with several nodes on one broker, a table of the nodes with their total
// (those that stopped reporting marked stale), then each node's cards. The key is kept in sessionStorage: this tab only, gone when it closes.
import "./admin.css";

const STATS_URL = "/admin/api/stats";
const KEY_STORAGE = "peercable.adminKey";
const POLL_MS = 1000;
const SPARK_POINTS = 60;

const $ = (id) => document.getElementById(id);
const signIn = $("sign-in");
const form = $("sign-in-form");
const keyInput = $("admin-key");
const signInError = $("sign-in-error");
const signInButton = $("sign-in-button");
const dashboard = $("dashboard");
const nodesBox = $("nodes");
const live = $("live");
const liveText = $("live-text");
const liveTime = $("live-time");
const signOutButton = $("sign-out");
const template = $("node-template");
const cluster = $("cluster");
const clusterSummary = $("cluster-summary");
const clusterRows = $("cluster-rows");
const clusterTotal = $("cluster-total");
const clusterStreams = $("cluster-streams");
const clusterStreamsEmpty = $("cluster-streams-empty");

let key = sessionStorage.getItem(KEY_STORAGE) || "";
let timer = null;
const views = new Map(); // node id -> { root, history: { field: [values] } }

const integer = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i += 1;
  }
  return `${i === 0 ? integer.format(n) : decimal.format(n)} ${units[i]}`;
}

function millis(ms) {
  if (ms < 0) return "> 5 s";
  if (ms === 0) return "—";
  return ms < 1 ? `≤ ${decimal.format(ms * 1000)} µs` : `≤ ${decimal.format(ms)} ms`;
}

/** Asks for the figures; resolves to { status, body }. */
async function fetchStats(withKey) {
  const response = await fetch(STATS_URL, {
    headers: { Authorization: `Bearer ${withKey}` },
    cache: "no-store",
    credentials: "omit",
  });
  const body = response.ok ? await response.json() : null;
  return { status: response.status, body };
}

function showSignIn(message) {
  stopPolling();
  dashboard.hidden = true;
  live.hidden = true;
  signOutButton.hidden = true;
  signIn.hidden = false;
  signInError.hidden = !message;
  signInError.textContent = message || "";
  keyInput.setAttribute("aria-invalid", message ? "true" : "false");
  keyInput.focus();
}

function showDashboard() {
  signIn.hidden = true;
  dashboard.hidden = false;
  live.hidden = false;
  signOutButton.hidden = false;
}

function setLive(ok, text, time = "") {
  live.classList.toggle("live--lost", !ok);
  liveText.textContent = text;
  liveTime.textContent = time ? ` · ${time}` : "";
}

function field(root, name) {
  return root.querySelector(`[data-f="${name}"]`);
}

function setText(root, name, text) {
  const el = field(root, name);
  if (el.textContent !== text) el.textContent = text;
}

function viewFor(node) {
  let view = views.get(node.id);
  if (!view) {
    const root = template.content.firstElementChild.cloneNode(true);
    nodesBox.append(root);
    view = { root, history: {} };
    views.set(node.id, view);
  }
  return view;
}

function spark(view, name, value) {
  const series = (view.history[name] ||= []);
  series.push(value);
  if (series.length > SPARK_POINTS) series.shift();
  const max = Math.max(1, ...series);
  const step = 118 / (SPARK_POINTS - 1); // the last point stays inside the card
  const offset = (SPARK_POINTS - series.length) * step;
  const d = series
    .map((v, i) => `${i === 0 ? "M" : "L"}${(offset + i * step).toFixed(1)},${(30 - (v / max) * 28).toFixed(1)}`)
    .join(" ");
  view.root.querySelector(`[data-spark="${name}"]`).setAttribute("d", d);
  view.root.querySelector(`[data-area="${name}"]`).setAttribute("d", `${d} L118,32 L${offset.toFixed(1)},32 Z`);
}

// Every text below comes from the servers (stream names from clients, node ids from other nodes): it is set
// as text, never as markup.
function renderStreams(list, empty, streams) {
  const top = streams.length ? streams[0].deliveries : 1;
  const items = streams.map((s) => {
    const li = document.createElement("li");
    li.className = "stream";
    const name = document.createElement("span");
    name.className = "stream__name";
    name.textContent = s.stream; // stream names come from clients: text only, never markup
    name.title = s.stream;
    const count = document.createElement("span");
    count.className = "stream__count";
    count.textContent = integer.format(s.deliveries);
    const bar = document.createElement("span");
    bar.className = "stream__bar";
    bar.style.width = `${Math.max(2, (s.deliveries / top) * 100)}%`;
    li.append(name, count, bar);
    return li;
  });
  list.replaceChildren(...items);
  empty.hidden = streams.length > 0;
}

function stateOf(node) {
  if (node.stale) return { text: `stale · ${integer.format(node.age_s)} s`, pill: "pill--bad" };
  if (node.draining) return { text: "draining", pill: "pill--warn" };
  return { text: "live", pill: "pill--ok" };
}

function brokerText(node) {
  return node.broker.kind === "local" ? "local" : `Redis: ${node.broker.state}`;
}

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function pillCell(text, pill) {
  const td = document.createElement("td");
  const span = document.createElement("span");
  span.className = `pill ${pill}`;
  span.textContent = text;
  td.append(span);
  return td;
}

function renderCluster(body) {
  const several = body.nodes.length > 1;
  cluster.hidden = !several;
  if (!several) return;
  const total = body.total;
  const live = total.nodes - total.stale;
  clusterSummary.textContent =
    `${integer.format(total.nodes)} nodes · ${integer.format(live)} reporting` +
    (total.stale ? ` · ${integer.format(total.stale)} stale` : "") +
    (total.draining ? ` · ${integer.format(total.draining)} draining` : "");
  const rows = body.nodes.map((node) => {
    const tr = document.createElement("tr");
    tr.className = node.stale ? "cluster-row cluster-row--stale" : "cluster-row";
    const name = cell(node.id, "cluster-row__id");
    name.title = node.id;
    if (node.self) {
      const self = document.createElement("span");
      self.className = "cluster-row__self";
      self.textContent = " (this node)";
      name.append(self);
    }
    const state = stateOf(node);
    tr.append(name, pillCell(state.text, state.pill), cell(integer.format(node.websockets)),
      cell(integer.format(node.subscriptions)), cell(integer.format(node.deliveries_per_s)),
      cell(bytes(node.bytes_out_per_s)), cell(integer.format(node.slow_consumer_closes)), cell(brokerText(node)));
    return tr;
  });
  clusterRows.replaceChildren(...rows);
  const label = document.createElement("th");
  label.scope = "row";
  label.textContent = `Total (${integer.format(live)} reporting)`;
  clusterTotal.replaceChildren(label, cell(total.stale ? `${integer.format(total.stale)} stale left out` : ""),
    cell(integer.format(total.websockets)), cell(integer.format(total.subscriptions)),
    cell(integer.format(total.deliveries_per_s)), cell(bytes(total.bytes_out_per_s)),
    cell(integer.format(total.slow_consumer_closes)), cell(""));
  renderStreams(clusterStreams, clusterStreamsEmpty, total.busiest_streams);
}

function renderLoops(root, loops) {
  const rows = loops.map((l) => {
    const tr = document.createElement("tr");
    for (const v of [`#${l.loop}`, l.websockets, l.connections, l.streams, l.subscriptions]) {
      const td = document.createElement("td");
      td.textContent = typeof v === "number" ? integer.format(v) : v;
      tr.append(td);
    }
    return tr;
  });
  field(root, "loops").replaceChildren(...rows);
}

function renderNode(node, several) {
  const view = viewFor(node);
  const root = view.root;
  root.classList.toggle("node--stale", node.stale);
  setText(root, "id", node.id);
  field(root, "self").hidden = !(node.self && several); // with one node, it goes without saying
  const stale = field(root, "stale");
  stale.hidden = !node.stale;
  stale.textContent = node.stale ? `stale: nothing for ${integer.format(node.age_s)} s` : "";
  const broker = field(root, "broker");
  broker.textContent = node.broker.kind === "local" ? "broker: local" : brokerText(node);
  broker.className = `pill ${node.broker.state === "local" || node.broker.state === "connected" ? "pill--ok" : "pill--bad"}`;
  const history = field(root, "history");
  history.textContent = `history: ${node.history.kind}`;
  history.className = `pill ${node.history.dropped > 0 ? "pill--warn" : "pill--ok"}`;
  field(root, "draining").hidden = !node.draining;
  setText(root, "websockets", integer.format(node.websockets));
  setText(root, "connections", integer.format(node.connections));
  setText(root, "accepted", integer.format(node.accepted));
  setText(root, "subscriptions", integer.format(node.subscriptions));
  setText(root, "streams", integer.format(node.streams));
  setText(root, "deliveries_per_s", integer.format(node.deliveries_per_s));
  setText(root, "broadcasts_per_s", decimal.format(node.broadcasts_per_s));
  setText(root, "bytes_out_per_s", bytes(node.bytes_out_per_s));
  setText(root, "bytes_out", bytes(node.bytes_out));
  setText(root, "p99", millis(node.latency.p99_ms));
  setText(root, "p50", millis(node.latency.p50_ms));
  setText(root, "slow_consumer_closes", integer.format(node.slow_consumer_closes));
  setText(root, "slow_consumer_closes_per_s", integer.format(node.slow_consumer_closes_per_s));
  field(root, "slow_card").classList.toggle("kpi--alert", node.slow_consumer_closes_per_s > 0);
  setText(root, "history_kind", node.history.kind);
  setText(root, "history_queue", integer.format(node.history.queue));
  setText(root, "history_dropped", integer.format(node.history.dropped));
  if (!node.stale) {
    // A stale node's figures are its last ones: the curves wait for it.
    spark(view, "deliveries_per_s", node.deliveries_per_s);
    spark(view, "bytes_out_per_s", node.bytes_out_per_s);
  }
  renderStreams(field(root, "streams_list"), field(root, "streams_empty"), node.busiest_streams);
  renderLoops(root, node.loops);
}

async function poll() {
  timer = null;
  try {
    const { status, body } = await fetchStats(key);
    if (status === 401 || status === 404) {
      sessionStorage.removeItem(KEY_STORAGE);
      key = "";
      showSignIn(status === 401 ? "The server refused this key." : "The live view is off on this server.");
      return;
    }
    if (!body) throw new Error(`HTTP ${status}`);
    renderCluster(body);
    for (const node of body.nodes) renderNode(node, body.nodes.length > 1);
    // Nodes no longer listed (forgotten by the server) leave the page; the others keep the server's order.
    const ids = new Set(body.nodes.map((n) => n.id));
    for (const [id, view] of views) {
      if (!ids.has(id)) {
        view.root.remove();
        views.delete(id);
      }
    }
    const order = body.nodes.map((n) => views.get(n.id).root);
    if (order.some((root, i) => nodesBox.children[i] !== root)) nodesBox.append(...order);
    setLive(true, "Live", new Date().toLocaleTimeString());
  } catch {
    setLive(false, "Connection lost, retrying");
  }
  if (key) timer = setTimeout(poll, POLL_MS);
}

function stopPolling() {
  if (timer) clearTimeout(timer);
  timer = null;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const candidate = keyInput.value.trim();
  if (!candidate) {
    showSignIn("Enter the admin key.");
    return;
  }
  signInButton.disabled = true;
  try {
    const { status } = await fetchStats(candidate);
    if (status === 200) {
      key = candidate;
      sessionStorage.setItem(KEY_STORAGE, key);
      keyInput.value = "";
      showDashboard();
      poll();
    } else {
      showSignIn(status === 401 ? "The server refused this key." : `The server answered ${status}.`);
    }
  } catch {
    showSignIn("The server could not be reached.");
  } finally {
    signInButton.disabled = false;
  }
});

signOutButton.addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  key = "";
  views.clear();
  nodesBox.replaceChildren();
  cluster.hidden = true;
  showSignIn("");
});

if (key) {
  showDashboard();
  poll();
} else {
  showSignIn("");
}
