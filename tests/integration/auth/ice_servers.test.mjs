// GET /ice-servers: STUN/TURN servers for the page, TURN credentials minted per signed-in user in coturn's
// use-auth-secret scheme, nothing for anyone not signed in; and the options' start-up checks.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { startPeercable, signToken, binary } from "../../lib/peercable.mjs";

const servers = [];
after(async () => {
  for (const s of servers) await s.stop();
});

async function start(args) {
  const s = await startPeercable(args);
  servers.push(s);
  return s;
}

const get = (s, headers = {}, method = "GET") => fetch(`${s.url}/ice-servers`, { method, headers });

test("signed in: the STUN entry, and a TURN entry with a credential minted for this user", async () => {
  const s = await start(["--stun-urls", "stun:stun.example.com:3478", "--turn-urls",
    "turn:turn.example.com:3478?transport=udp, turns:turn.example.com:5349", "--turn-secret", "shh", "--turn-ttl", "600"]);
  const before = Math.floor(Date.now() / 1000);
  const r = await get(s, { Authorization: `Bearer ${signToken({ sub: "u42", name: "Ann" })}` });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("cache-control"), "no-store");
  const body = await r.json();
  assert.equal(body.ttl, 600);
  assert.deepEqual(body.iceServers[0], { urls: ["stun:stun.example.com:3478"] });
  const turn = body.iceServers[1];
  assert.deepEqual(turn.urls, ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"]);
  const [expiry, user] = turn.username.split(":");
  assert.equal(user, "u42");
  assert.ok(Number(expiry) >= before + 600 && Number(expiry) <= Math.floor(Date.now() / 1000) + 600);
  assert.equal(turn.credential, createHmac("sha1", "shh").update(turn.username).digest("base64"));
});

test("not signed in, a bad or expired token, another method: refused", async () => {
  const s = await start(["--turn-urls", "turn:turn.example.com:3478", "--turn-secret", "shh"]);
  for (const headers of [{}, { Authorization: "Bearer x.y.z" }, { Authorization: `Bearer ${signToken({ sub: "u1" }, "wrong-secret")}` },
    { Authorization: `Bearer ${signToken({ sub: "u1", exp: Math.floor(Date.now() / 1000) - 3600 })}` }, { Authorization: "Basic dTE6cA==" }]) {
    const r = await get(s, headers);
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(r.headers.get("www-authenticate"), "Bearer");
    assert.ok(!(await r.text()).includes("turn.example.com"), "nothing about the TURN server leaks");
  }
  const post = await get(s, { Authorization: `Bearer ${signToken({ sub: "u1" })}` }, "POST");
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET");
});

test("nothing configured: an empty list (host candidates only)", async () => {
  const s = await start([]);
  const r = await get(s, { Authorization: `Bearer ${signToken({ sub: "u1" })}` });
  assert.equal(r.status, 200);
  assert.deepEqual((await r.json()).iceServers, []);
});

test("bad ICE options stop the start with one line naming the option", () => {
  for (const [args, pattern] of [
    [["--turn-urls", "turn:turn.example.com"], /--turn-urls: needs --turn-secret/],
    [["--turn-urls", "http://turn.example.com", "--turn-secret", "s"], /--turn-urls: http:\/\/turn\.example\.com must start with turn: or turns:/],
    [["--stun-urls", "turn:x"], /--stun-urls: turn:x must start with stun: or stuns:/],
  ]) {
    const r = spawnSync(binary, ["--port", "1", ...args], { encoding: "utf8", timeout: 10000 });
    assert.equal(r.status, 2, `${args}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});
