// Redis AUTH: a password (requirepass) and an ACL user both work across nodes; a wrong password, a missing
// one, an unknown user or a bad URL stop peercable at start-up with one clear line and exit code 2.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPeercable, binary, freePort, testSecret } from "../../lib/peercable.mjs";
import { startRedis, redisSkip, redisCommands } from "../../lib/redis.mjs";
import { CableClient, roomId } from "./cable.mjs";

const skip = redisSkip();
let redis;

before(async () => {
  if (skip) return;
  redis = await startRedis({ args: ["--requirepass", "s3cret"] });
  const [auth, setuser] = await redisCommands(redis.port, [
    ["AUTH", "s3cret"],
    // Only what peercable needs (docs/scaling.md): pub/sub on any channel, its presence keys.
    ["ACL", "SETUSER", "cable", "on", ">pa:55@", "resetchannels", "&*", "resetkeys", "~peercable:presence:*",
      "~peercable:history:*", "~peercable:stream:*", "~peercable:session:*", "-@all",
      "+select", "+client|setname", "+ping", "+subscribe", "+unsubscribe", "+psubscribe", "+punsubscribe", "+publish",
      "+eval", "+set", "+exists", "+pexpire", "+del", "+hset", "+hdel", "+hgetall", "+hexists", "+sadd", "+srem",
      "+smembers", "+multi", "+exec", "+rpush", "+ltrim", "+lrange",
      "+evalsha", "+script|load", "+time", "+get", "+hsetnx", "+hget", "+hincrby", "+xadd", "+xrange", "+zadd",
      "+zcard", "+zrange", "+zrem", "+pubsub|numsub"],
  ]);
  assert.equal(auth, "OK");
  assert.equal(setuser, "OK");
});

after(async () => {
  await redis?.kill();
});

/** Runs peercable with `args` until it exits (it must, within 10 s); resolves with { code, output }. */
async function runToExit(args) {
  const port = await freePort();
  const proc = spawn(binary, ["--host", "127.0.0.1", "--port", String(port), "--jwt-secret", testSecret,
    "--data-dir", mkdtempSync(join(tmpdir(), "peercable-test-")), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout.on("data", (d) => (output += d));
  proc.stderr.on("data", (d) => (output += d));
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10000);
  const code = await new Promise((resolve) => proc.on("exit", (c, sig) => resolve(c ?? sig)));
  clearTimeout(timer);
  return { code, output };
}

async function crossNode(url) {
  const nodes = await Promise.all([0, 1].map(() => startPeercable(["--redis-url", url, "--threads", "1"])));
  try {
    const a = await CableClient.connect(nodes[0].wsUrl, { id: "auth-a" });
    const b = await CableClient.connect(nodes[1].wsUrl, { id: "auth-b" });
    await a.join("auth-room");
    await b.join("auth-room");
    a.speak("auth-room", "authenticated hello");
    await b.message(roomId("auth-room"), (m) => m.body === "authenticated hello");
    await a.close();
    await b.close();
  } finally {
    const codes = await Promise.all(nodes.map((n) => n.stop()));
    assert.deepEqual(codes, [0, 0], nodes.map((n) => n.logs()).join("\n"));
  }
}

test("a password (requirepass) works across nodes", { skip, timeout: 30000 }, async () => {
  await crossNode(`redis://:s3cret@127.0.0.1:${redis.port}/0`);
});

test("an ACL user with the least rights and a percent-escaped password works across nodes", { skip, timeout: 30000 }, async () => {
  await crossNode(`redis://cable:${encodeURIComponent("pa:55@")}@127.0.0.1:${redis.port}/2`);
  // Presence and history went through the restricted user too (the crossNode clients joined a room and spoke).
  const [, denied] = await redisCommands(redis.port, [["AUTH", "s3cret"], ["ACL", "LOG"]]);
  assert.deepEqual(denied, [], `ACL denials: ${JSON.stringify(denied)}`);
});

test("a wrong password is a clear start-up error", { skip, timeout: 30000 }, async () => {
  const { code, output } = await runToExit(["--redis-url", `redis://:wrong@127.0.0.1:${redis.port}`]);
  assert.equal(code, 2);
  assert.match(output, /peercable: error: redis redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: authentication failed \(WRONGPASS/);
  assert.doesNotMatch(output, /wrong/, "the password is never printed");
});

test("an unknown ACL user is a clear start-up error", { skip, timeout: 30000 }, async () => {
  const { code, output } = await runToExit(["--redis-url", `redis://nobody:pa55@127.0.0.1:${redis.port}`]);
  assert.equal(code, 2);
  assert.match(output, /redis:\/\/nobody:\*\*\*@127\.0\.0\.1:\d+\/0: authentication failed/);
});

test("a user without channel rights is a clear start-up error", { skip, timeout: 30000 }, async () => {
  await redisCommands(redis.port, [["AUTH", "s3cret"], ["ACL", "SETUSER", "nochannels", "on", ">pw", "resetchannels", "~*", "+@all"]]);
  const { code, output } = await runToExit(["--redis-url", `redis://nochannels:pw@127.0.0.1:${redis.port}`]);
  assert.equal(code, 2);
  assert.match(output, /refused a subscription \(NOPERM/);
});

test("a missing password is a clear start-up error", { skip, timeout: 30000 }, async () => {
  const { code, output } = await runToExit(["--redis-url", `redis://127.0.0.1:${redis.port}`]);
  assert.equal(code, 2);
  assert.match(output, /requires a password/);
  assert.equal(output.trim().split("\n").length, 1, output);
});

test("a bad URL is a clear start-up error", { skip, timeout: 30000 }, async () => {
  for (const [url, why] of [["redis://127.0.0.1:0", /port/], ["redis://127.0.0.1:6379/x", /database/],
    ["rediss://127.0.0.1:6379", /redis:\/\//]]) {
    const { code, output } = await runToExit(["--redis-url", url]);
    assert.equal(code, 2, output);
    assert.match(output, /peercable: error: --redis-url: /);
    assert.match(output, why);
  }
});
