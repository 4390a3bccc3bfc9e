// The HTTP auth hook (--auth-url) against the real binary: a Node http server in the test plays the app and
// decides who a connecting user is from the cookie peercable forwards (docs/auth-hook.md).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { startPeercable, signToken, freePort } from "../../lib/peercable.mjs";
import { open, welcomed, refused, lobbyUsers, sleep } from "./hook_client.mjs";
import { until } from "../../lib/drain.mjs";

const TIMEOUT_MS = 400; // --auth-timeout
const TTL_S = 2; // --auth-cache-ttl and --auth-negative-cache-ttl
// Every test signs in with cookies of its own, so cache entries never cross tests. "s3cr3t" marks them, so
// the log can be searched for a leak.
const uniq = () => `s3cr3t${randomBytes(6).toString("hex")}`;

/**
 * The app: answers GET /auth by the sid cookie, counts the requests per Cookie header and the TCP
 * connections, and keeps the headers of every request.
 */
async function startApp() {
  const app = { requests: [], connections: 0, hits: (cookie) => app.requests.filter((r) => r.cookie === cookie).length };
  const server = createServer((req, res) => {
    const names = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) names.push(req.rawHeaders[i].toLowerCase());
    app.requests.push({ method: req.method, url: req.url, names, headers: req.headers, cookie: req.headers.cookie });
    const sid = /(?:^|;\s*)sid=([^;]*)/.exec(req.headers.cookie ?? "")?.[1];
    const json = (status, body) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    switch (sid) {
      case "good": return json(200, { id: "7", name: "Alice" });
      case "bob": return json(200, { id: 8, extra: "ignored" });
      case "lag": return setTimeout(() => json(200, { id: "9", name: "Carol" }), 200);
      case "bad": return json(401, { error: "not signed in" });
      case "forbidden": return json(403, {});
      case "slow": return setTimeout(() => json(200, { id: "10" }), TIMEOUT_MS * 4);
      case "boom": return json(500, { error: "internal" });
      case "garbage": return json(200, "<html>Welcome back!</html>");
      case "huge": return json(200, { id: "11", pad: "x".repeat(20 * 1024) });
      case "noid": return json(200, { name: "Nobody" });
      default: return json(req.headers["x-tenant"] ? 200 : 401, { id: "t", name: "Tenant" });
    }
  });
  server.on("connection", () => app.connections++);
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  app.url = `http://127.0.0.1:${server.address().port}/auth`;
  app.close = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
  return app;
}

let app;
let server;
before(async () => {
  app = await startApp();
  // One loop, so that keep-alive and the sharing of identical requests are predictable.
  server = await startPeercable(["--auth-url", app.url, "--auth-timeout", String(TIMEOUT_MS),
    "--auth-cache-ttl", String(TTL_S), "--auth-negative-cache-ttl", String(TTL_S), "--threads", "1",
    "--log-level", "info"]);
});
after(async () => {
  const code = await server?.stop();
  await app?.close();
  assert.equal(code, 0, server?.logs());
  assert.ok(!server.logs().includes("s3cr3t"), "a forwarded cookie appeared in the log");
});

test("a user the app knows is welcomed and appears in presence under the app's identity", async () => {
  const cookie = `sid=good; t=${uniq()}`;
  const c = await welcomed(server, { Cookie: cookie });
  assert.deepEqual(c.inbox.filter((m) => m.type === "disconnect"), []);
  const users = await lobbyUsers(c);
  assert.ok(users.some((u) => u.id === "7" && u.name === "Alice"), JSON.stringify(users));
  // An integer id, no name: the id is the name.
  const b = await welcomed(server, { Cookie: `sid=bob; t=${uniq()}` });
  const users2 = await lobbyUsers(b);
  assert.ok(users2.some((u) => u.id === "8" && u.name === "8"), JSON.stringify(users2));
  // The request the app received.
  const r = app.requests.find((x) => x.cookie === cookie);
  assert.equal(r.method, "GET");
  assert.equal(r.url, "/auth");
  assert.equal(r.headers.accept, "application/json");
  assert.equal(r.headers["x-forwarded-for"], "127.0.0.1");
  c.ws.close();
  b.ws.close();
});

test("the app saying no, or not answering properly, is unauthorized every time", async (t) => {
  for (const sid of ["bad", "forbidden", "slow", "boom", "garbage", "huge", "noid"]) {
    await t.test(sid, async () => {
      const cookie = `sid=${sid}; t=${uniq()}`;
      await refused(server, { Cookie: cookie });
      assert.equal(app.hits(cookie), 1);
    });
  }
});

test("a slow app does not hold up the loop: others sign in meanwhile", async () => {
  let slowDone = false;
  const slowCookie = `sid=slow; t=${uniq()}`;
  const slow = refused(server, { Cookie: slowCookie }).then(() => (slowDone = true));
  await until(() => app.hits(slowCookie) === 1, "the slow sign-in at the app");
  const other = await welcomed(server, {}, `?token=${signToken({ sub: "jwt-user", name: "Jay" })}`);
  const fast = await welcomed(server, { Cookie: `sid=good; t=${uniq()}` });
  assert.equal(slowDone, false, "the other sign-ins waited for the slow one");
  await slow;
  other.ws.close();
  fast.ws.close();
});

/** The hook's counters on /metrics of `s`. */
async function hookMetrics(s) {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const out = {};
  for (const [, name, value] of text.matchAll(/^peercable_auth_http_(\w+)_total (\d+)$/gm)) out[name] = Number(value);
  return out;
}

test("identities and refusals are cached for their TTL; timeouts and errors are not", async () => {
  const m0 = await hookMetrics(server);
  const good = `sid=good; t=${uniq()}`;
  const bad = `sid=bad; t=${uniq()}`;
  const slow = `sid=slow; t=${uniq()}`;
  const boom = `sid=boom; t=${uniq()}`;
  (await welcomed(server, { Cookie: good })).ws.close();
  await refused(server, { Cookie: bad });
  (await welcomed(server, { Cookie: good })).ws.close();
  await refused(server, { Cookie: bad });
  assert.equal(app.hits(good), 1, "a second sign-in within the TTL is answered from the cache");
  assert.equal(app.hits(bad), 1, "a refusal is cached for the negative TTL");
  await refused(server, { Cookie: slow });
  await refused(server, { Cookie: slow });
  assert.equal(app.hits(slow), 2, "a timeout is not cached");
  await refused(server, { Cookie: boom });
  await refused(server, { Cookie: boom });
  assert.equal(app.hits(boom), 2, "an error is not cached");
  const m1 = await hookMetrics(server);
  const delta = Object.fromEntries(Object.keys(m1).map((k) => [k, m1[k] - m0[k]]));
  assert.deepEqual(delta, { calls: 6, cache_hits: 2, coalesced: 0, accepted: 1, refusals: 1, errors: 2, timeouts: 2 });
  await sleep(TTL_S * 1000 + 300);
  (await welcomed(server, { Cookie: good })).ws.close();
  await refused(server, { Cookie: bad });
  assert.equal(app.hits(good), 2, "after the TTL the app is asked again");
  assert.equal(app.hits(bad), 2, "after the negative TTL the app is asked again");
});

test("identical sign-ins at the same moment share one request; connections to the app are kept alive", async () => {
  const cookie = `sid=lag; t=${uniq()}`;
  const before = app.connections;
  const tabs = await Promise.all([1, 2, 3].map(() => welcomed(server, { Cookie: cookie })));
  for (const t of tabs) assert.deepEqual(t.inbox.filter((m) => m.type === "disconnect"), []);
  assert.equal(app.hits(cookie), 1);
  for (let i = 0; i < 3; i++) (await welcomed(server, { Cookie: `sid=good; t=${uniq()}` })).ws.close();
  assert.ok(app.connections - before <= 1, `${app.connections - before} new connections for 4 requests`);
  for (const t of tabs) t.ws.close();
});

test("only the listed headers are forwarded, plus X-Forwarded-For; none listed present means no call", async () => {
  const cookie = `sid=good; t=${uniq()}`;
  (await welcomed(server, { Cookie: cookie, "X-Tenant": "acme", "X-Api-Key": "k", Authorization: "Basic dTpw" })).ws.close();
  const r = app.requests.find((x) => x.cookie === cookie);
  assert.deepEqual([...r.names].sort(), ["accept", "authorization", "cookie", "host", "user-agent", "x-forwarded-for"]);
  assert.equal(r.headers.authorization, "Basic dTpw");
  assert.equal(r.headers.cookie, cookie);
  assert.equal(r.headers["user-agent"], "peercable");

  const n = app.requests.length;
  await refused(server, { "X-Tenant": "acme" });
  assert.equal(app.requests.length, n, "no listed header: the app is not asked");

  const hook = await startPeercable(["--auth-url", app.url, "--auth-headers", "X-Tenant, cookie"]);
  try {
    (await welcomed(hook, { "X-Tenant": "acme", "X-Other": "1" })).ws.close();
    const t = app.requests.at(-1);
    assert.deepEqual([...t.names].sort(), ["accept", "host", "user-agent", "x-forwarded-for", "x-tenant"]);
    assert.equal(t.headers["x-tenant"], "acme");
  } finally {
    assert.equal(await hook.stop(), 0, hook.logs());
  }
});

test("the app being down is unauthorized, and the server keeps serving everyone else", async () => {
  const dead = await freePort();
  const s = await startPeercable(["--auth-url", `http://127.0.0.1:${dead}/auth`, "--auth-timeout", "500"]);
  try {
    for (let i = 0; i < 3; i++) await refused(s, { Cookie: `sid=good; t=${uniq()}` });
    const c = await welcomed(s, {}, `?token=${signToken({ sub: "u-down", name: "Dee" })}`);
    const users = await lobbyUsers(c);
    assert.ok(users.some((u) => u.id === "u-down"));
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
    c.ws.close();
  } finally {
    assert.equal(await s.stop(), 0, s.logs());
  }
});

test("sign-ins still waiting for the app when the server stops do not hang or crash it", async () => {
  const s = await startPeercable(["--auth-url", app.url, "--auth-timeout", "10000"]);
  const cookies = [1, 2, 3].map(() => `sid=slow; t=${uniq()}`);
  const pending = cookies.map((cookie) => {
    const c = open(s, { Cookie: cookie });
    c.opened.catch(() => {});
    return c;
  });
  await Promise.all(pending.map((c) => c.opened));
  await until(() => cookies.every((cookie) => app.hits(cookie) === 1), "the three sign-ins at the app");
  assert.equal(await s.stop(), 0, s.logs());
  for (const c of pending) assert.ok(!c.inbox.some((m) => m.type === "welcome"));
});

test("without --auth-url nothing changes: no call, a cookie alone is unauthorized, tokens work", async () => {
  const s = await startPeercable([]);
  try {
    const n = app.requests.length;
    await refused(s, { Cookie: `sid=good; t=${uniq()}` });
    (await welcomed(s, {}, `?token=${signToken({ sub: "plain" })}`)).ws.close();
    assert.equal(app.requests.length, n);
  } finally {
    assert.equal(await s.stop(), 0, s.logs());
  }
});

test("bad hook settings stop the server at start-up with one clear line", async () => {
  for (const [args, message] of [
    [["--auth-url", "https://app.example/auth"], "--auth-url: https is not supported"],
    [["--auth-url", "app.example/auth"], "--auth-url:"],
    [["--auth-url", "http://127.0.0.1:1/auth", "--auth-headers", "host"], "--auth-headers: host"],
    [["--auth-url", "http://no-such-host.invalid/auth"], "--auth-url: cannot resolve no-such-host.invalid"],
  ]) {
    await assert.rejects(startPeercable(args), (e) => e.message.includes("exited early (2)") && e.message.includes(message));
  }
});
