// Rooms are forgotten in Redis too: 100,000 rooms (one in ten with a message) leave history lists and presence
// hashes; once the rooms are empty for --room-ttl the lists expire and the hashes are gone, so the key count
// returns to the few keys of the node itself. The extended protocol's stream history (under peercable:stream:, kept
// by its own bounds: --stream-history-ttl, --stream-history-streams, epochs for a day) is counted apart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startRedis, startNode, redisSkip, redisCommand } from "../../lib/redis.mjs";
import { manyRoomsArgs, createRooms, leaveRooms, metric, until } from "../p2p/rooms.mjs";

const skip = redisSkip();
const kStreamKeys = "peercable:stream:*";
const kMaxStreams = 10000;  // --stream-history-streams' default

/**
 * Keys of rooms and of the node (everything but the stream history), and keys of the stream history. Counted with
 * KEYS, which leaves out keys past their TTL that Redis has not reclaimed yet (DBSIZE counts them: with 20,000
 * long-lived stream-history keys beside them, Redis' sampling reclaims a few hundred expired keys only slowly).
 */
async function keyCounts(port) {
  const [all, stream] = await redisCommand(port, "EVAL",
    "return {#redis.call('KEYS', '*'), #redis.call('KEYS', ARGV[1])}", "0", kStreamKeys);
  return { rooms: all - stream, stream };
}

test("100,000 rooms expire from Redis once empty and idle", { skip, timeout: 900000 }, async () => {
  const redis = await startRedis();
  const s = await startNode(redis, [...manyRoomsArgs, "--threads", "2"]);
  try {
    const before = (await keyCounts(redis.port)).rooms;
    const makers = await createRooms(s, { prefix: "r", count: 100000 });
    await until(async () => (await metric(s, "peercable_store_queue")) === 0, "the store to catch up");
    const peak = (await keyCounts(redis.port)).rooms;
    assert.ok(peak >= 100000, `history lists and presence hashes: ${peak} keys`);
    await leaveRooms(makers);
    await until(async () => (await metric(s, "peercable_rooms")) === 0, "every room to expire");
    await until(async () => (await keyCounts(redis.port)).rooms <= before + 2, "the keys to expire", 60000);
    const after = await keyCounts(redis.port);
    // Per stream at most three keys (its epoch and offset, its log, its mark of Rails' own broadcasts); one index.
    assert.ok(after.stream <= 3 * kMaxStreams + 1, `stream history keys: ${after.stream}`);
    console.log(JSON.stringify({ keysBefore: before, keysAtPeak: peak, keysAfter: after }));
  } finally {
    assert.equal(await s.stop(), 0);
    await redis.kill();
  }
});
