// JWT sign-in against the real binary: leeway on exp/nbf/iat, issuer and audience, key rotation, where the
// token may come from, the refusal (never a welcome) and its log line, which never holds the token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startPeercable, signToken, testSecret } from "../../lib/peercable.mjs";
import { logLines, waitForLogLines } from "../../lib/drain.mjs";
import { welcomed, refused, lobbyUsers, open, UNAUTHORIZED } from "./hook_client.mjs";

const now = () => Math.floor(Date.now() / 1000);
const oldSecret = "peercable-previous-secret-0123456789";
let server;

before(async () => {
  server = await startPeercable(["--log-level", "info", "--jwt-leeway", "30", "--jwt-previous-secret", oldSecret,
    "--jwt-issuer", "https://app.example", "--jwt-audience", "peercable"]);
});
after(async () => { assert.equal(await server.stop(), 0); });

const claims = (extra = {}) => ({ sub: "u1", name: "Ada", iss: "https://app.example", aud: "peercable", ...extra });
const q = (token) => `?token=${token}`;

test("a valid token is accepted from ?token=, Authorization: Bearer and the peercable_token cookie", async () => {
  const token = signToken(claims({ exp: now() + 60 }));
  for (const [headers, query] of [[{}, q(token)], [{ Authorization: `Bearer ${token}` }, ""],
    [{ Cookie: `other=1; peercable_token=${token}` }, ""]]) {
    const c = await welcomed(server, headers, query);
    const users = await lobbyUsers(c);
    assert.ok(users.some((u) => u.id === "u1" && u.name === "Ada"), JSON.stringify(users));
    c.ws.close();
  }
});

test("exp, nbf and iat are checked with the configured leeway", async () => {
  // Expired 10 s ago and issued 10 s in the future: inside the 30 s leeway.
  (await welcomed(server, {}, q(signToken(claims({ exp: now() - 10, iat: now() + 10, nbf: now() + 10 }))))).ws.close();
  for (const bad of [claims({ exp: now() - 120 }), claims({ nbf: now() + 120 }), claims({ iat: now() + 120 })]) {
    const c = await refusedWithQuery(q(signToken(bad)));
    c.ws.terminate();
  }
});

test("issuer and audience must match when configured", async () => {
  (await welcomed(server, {}, q(signToken(claims({ aud: ["x", "peercable"] }))))).ws.close();
  for (const bad of [claims({ iss: "https://evil.example" }), claims({ iss: undefined }), claims({ aud: "other" }),
    claims({ aud: ["other"] })]) {
    (await refusedWithQuery(q(signToken(bad)))).ws.terminate();
  }
});

test("key rotation: the previous secret is still accepted, any other is not", async () => {
  (await welcomed(server, {}, q(signToken(claims(), oldSecret)))).ws.close();
  (await welcomed(server, {}, q(signToken(claims(), testSecret)))).ws.close();
  (await refusedWithQuery(q(signToken(claims(), "some-other-secret-0123456789")))).ws.terminate();
});

test("tampered, malformed, alg none and missing tokens are refused; the log names why, never the token", async () => {
  const good = signToken(claims({ sub: "victim" }));
  const [h, , s] = good.split(".");
  const forged = `${h}.${Buffer.from(JSON.stringify(claims({ sub: "admin" }))).toString("base64url")}.${s}`;
  const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims())).toString("base64url")}.`;
  const cases = [forged, none, "not-a-token", `${good}x`, "a.b.c"];
  const refusal = /unauthorized connection from/;
  const before = logLines(server, refusal);
  for (const token of cases) (await refusedWithQuery(q(encodeURIComponent(token)))).ws.terminate();
  (await refused(server, {})).ws.terminate();
  // Each refusal logs one line: once all are in, the log holds everything it will say about these tokens.
  await waitForLogLines(server, refusal, before + cases.length + 1);
  const logs = server.logs();
  assert.match(logs, /unauthorized connection from 127\.0\.0\.1: jwt: bad token signature/);
  assert.match(logs, /jwt: token algorithm is not HS256/);
  assert.match(logs, /jwt: no token/);
  for (const token of [forged, good, none]) {
    assert.ok(!logs.includes(token.split(".")[1]), "a token's claims appear in the log");
    assert.ok(!logs.includes(token.split(".")[2] || "@@none@@"), "a token's signature appears in the log");
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const n = Number(/^peercable_unauthorized_total (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(n >= cases.length + 1, `unauthorized counted: ${n}`);
});

test("guest tokens carry the configured issuer and audience, so they sign in", async () => {
  const r = await fetch(`${server.url}/session`, { method: "POST", body: JSON.stringify({ name: "Guest" }) });
  assert.equal(r.status, 200);
  const { token } = await r.json();
  const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
  assert.equal(payload.iss, "https://app.example");
  assert.equal(payload.aud, "peercable");
  (await welcomed(server, {}, q(token))).ws.close();
});

async function refusedWithQuery(query) {
  const c = open(server, {}, query);
  await c.opened;
  const code = await Promise.race([c.closed, new Promise((r) => setTimeout(() => r("still open"), 5000))]);
  assert.notEqual(code, "still open");
  assert.deepEqual(c.inbox.filter((m) => m.type !== "ping"), [UNAUTHORIZED]);
  return c;
}
