// Rooms are forgotten in Redis too: 100,000 rooms (one in ten with a message) leave history lists and presence
// hashes; once the rooms are empty for --room-ttl the lists expire and the hashes are gone, so the key count
// returns to the few keys of the node itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startRedis, startNode, redisSkip, redisCommand } from "../../lib/redis.mjs";
import { manyRoomsArgs, createRooms, leaveRooms, metric, until } from "../p2p/rooms.mjs";

const skip = redisSkip();

test("100,000 rooms expire from Redis once empty and idle", { skip, timeout: 900000 }, async () => {
  const redis = await startRedis();
  const s = await startNode(redis, [...manyRoomsArgs, "--threads", "2"]);
  try {
    const before = await redisCommand(redis.port, "DBSIZE");
    const makers = await createRooms(s, { prefix: "r", count: 100000 });
    await until(async () => (await metric(s, "peercable_store_queue")) === 0, "the store to catch up");
    const peak = await redisCommand(redis.port, "DBSIZE");
    assert.ok(peak >= 100000, `history lists and presence hashes: ${peak} keys`);
    await leaveRooms(makers);
    await until(async () => (await metric(s, "peercable_rooms")) === 0, "every room to expire");
    await until(async () => (await redisCommand(redis.port, "DBSIZE")) <= before + 2, "the keys to expire", 60000);
    console.log(JSON.stringify({ keysBefore: before, keysAtPeak: peak, keysAfter: await redisCommand(redis.port, "DBSIZE") }));
  } finally {
    assert.equal(await s.stop(), 0);
    await redis.kill();
  }
});
