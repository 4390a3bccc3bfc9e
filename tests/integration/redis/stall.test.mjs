// A stalled-but-alive Redis (SIGSTOP: the kernel still accepts, nothing answers) stalls only the store worker:
// a bystander on the same loop keeps exchanging messages while the history and presence calls time out.
// The broker stays in-process (--store-redis-url), so only the stores depend on the paused Redis.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startPeercable } from "../../lib/peercable.mjs";
import { startRedis, redisSkip } from "../../lib/redis.mjs";
import { bystanderDuringStall } from "../p2p/stall.mjs";

const skip = redisSkip();

test("a paused Redis stalls neither the loop nor a bystander in another room", { skip, timeout: 90000 }, async () => {
  const redis = await startRedis();
  const s = await startPeercable(["--threads", "1", "--store-redis-url", redis.url, "--log-level", "info"]);
  try {
    await bystanderDuringStall(s, {
      stall: async () => { redis.proc.kill("SIGSTOP"); },
      release: async () => {
        // The newcomer's store calls are still waiting on the paused Redis: they time out (and fall back to
        // this node's memory) only now, after the bystander is done.
        const deadline = Date.now() + 10000;
        while (!/redis (history|presence) .*unavailable/.test(s.logs())) {
          assert.ok(Date.now() < deadline, `the store calls never met the paused Redis:\n${s.logs()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        redis.proc.kill("SIGCONT");
      },
    });
  } finally {
    redis.proc.kill("SIGCONT");
    assert.equal(await s.stop(), 0);
    await redis.kill();
  }
});
