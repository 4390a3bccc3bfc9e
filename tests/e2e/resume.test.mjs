// End-to-end: the chat page (the unmodified @anycable/web client, actioncable-v1-ext-json) loses nothing while
// its connection is down. The page is loaded through a TCP proxy that the test cuts and restores, so its
// WebSocket goes through it; a publisher (a plain Action Cable client) speaks numbered messages at a steady rate
// meanwhile, a second person (Bob, another Chromium page) sends an encrypted direct message and people join and
// leave. After the cut, a server restart (SQLite, same --data-dir and port), a move to another node (two nodes on
// one redis-server, the first one stopped) and an evicted offset, the page must show every message once, in
// order, without a reload, or say that history was lost and reload the room.
// Run: node --test --test-concurrency=1 tests/e2e/resume.test.mjs. Screenshots: tests/e2e/artifacts/resume-*.png.
// Figures (time back after the network returns) are printed as test diagnostics, not asserted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import WebSocket from "ws";
import { startPeercable, signToken } from "../lib/peercable.mjs";
import {
  launchChromium, buildWebIfMissing, distDir, artifactsDir, shot as saveShot, openWatchedPage, recordFramesReceived,
  waitForStatus,
} from "../lib/browser.mjs";
import { CutProxy } from "../integration/resume/proxy.mjs";
import { startRedis, startNodes, redisMissing } from "../lib/redis.mjs";
import { until } from "../lib/drain.mjs";

const STEP_MS = 15000;
const MESSAGES = 300;   // numbered messages per scenario
const RATE = 75;        // per second: under --max-commands-per-second (100)
const CUT_MS = 3000;
const baseArgs = ["--web-root", distDir, "--max-guest-signins-per-ip", "0"];

let browser;
const surprises = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  buildWebIfMissing();
  mkdirSync(artifactsDir, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

/** A person on a plain Action Cable connection (ws): subscribes to a room, speaks, leaves. */
async function cablePerson(server, id, name, room) {
  const ws = new WebSocket(`${server.wsUrl}?token=${signToken({ sub: id, name })}`, ["actioncable-v1-json"]);
  const identifier = JSON.stringify({ channel: "P2PChannel", room });
  await new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("message", (raw) => {
      const msg = JSON.parse(String(raw));
      if (msg.type === "welcome") ws.send(JSON.stringify({ command: "subscribe", identifier }));
      if (msg.type === "confirm_subscription") resolve();
      if (msg.type === "reject_subscription") reject(new Error(`${name}: subscription rejected`));
    });
  });
  return {
    speak(body) {
      ws.send(JSON.stringify({ command: "message", identifier, data: JSON.stringify({ action: "speak", body }) }));
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = new Promise((r) => ws.once("close", r));
      ws.close();
      await closed;
    },
  };
}

/** Speaks "n 1" … "n <count>" at RATE per second; calls at(n) before each (to cut or restore on cue). */
async function publish(person, count, at = async () => {}) {
  const start = Date.now();
  for (let n = 1; n <= count; n++) {
    await at(n);
    const due = start + (n * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    person.speak(`n ${n}`);
  }
}

/** Opens the page signed in as `id` in `room` at `base` (through the proxy or not). */
async function openPage(base, id, name, room, viewport = { width: 1100, height: 760 }) {
  const token = signToken({ sub: id, name });
  const page = await openWatchedPage(browser, {
    surprises, timeout: STEP_MS, label: `${name}: `, viewport,
    init: ([session]) => sessionStorage.setItem("peercable.session", session),
    initArg: [JSON.stringify({ token, user: { id, name } })],
  });
  recordFramesReceived(page);
  await page.goto(`${base}/#room=${room}`);
  await expectStatus(page, "Connected");
  // A reload would lose this mark.
  await page.evaluate(() => { window.notReloaded = true; });
  return page;
}

const expectStatus = (page, text, timeout = STEP_MS) => waitForStatus(page, text, { timeout, polling: 20 });

const shot = (page, name) => saveShot(page, `resume-${name}`);

function bodies(page) {
  return page.locator("#messages .message__body").allTextContents();
}

async function waitForBody(page, text, timeout = STEP_MS) {
  await page.waitForFunction(
    (want) => [...document.querySelectorAll("#messages .message__body")].some((el) => el.textContent === want),
    text, { timeout, polling: 20 });
}

function presenceNames(page) {
  return page.locator("#chat .person .person__name").allTextContents();
}

/** The numbered messages the page shows, in the order shown: each once, none missing, in order. */
async function assertAllNumbered(page, count) {
  const shown = (await bodies(page)).filter((b) => /^n \d+$/.test(b)).map((b) => Number(b.slice(2)));
  const want = Array.from({ length: count }, (_, i) => i + 1);
  const missing = want.filter((n) => !shown.includes(n));
  for (const n of missing.slice(0, 3)) {
    const frames = page.framesReceived.filter((f) => f.includes(`"body":"n ${n}"`)).map((f) => f.slice(0, 300));
    console.log(`n ${n} missing; frames carrying it: ${JSON.stringify(frames)}`);
  }
  const twice = shown.filter((n, i) => shown.indexOf(n) !== i);
  const outOfOrder = shown.filter((n, i) => i > 0 && n < shown[i - 1]);
  assert.deepEqual({ missing, twice, outOfOrder }, { missing: [], twice: [], outOfOrder: [] });
  assert.deepEqual(shown, want, "every numbered message once, in order");
  assert.equal(await page.evaluate(() => window.notReloaded), true, "the page was not reloaded");
}

/** Broadcast frames (with a stream position) carrying "n <k>", per k: the server sends none twice. */
function assertNoDuplicateFrames(page) {
  const counts = new Map();
  for (const frame of page.framesReceived) {
    if (!frame.includes('"stream_id"')) continue;
    const m = frame.match(/"body":"n (\d+)"/);
    if (m) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  }
  const twice = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
  assert.deepEqual(twice, [], "no numbered message delivered twice on a stream");
}

/** Measures (not asserts) how long after the proxy is restored (to `targetPort` when given) the page is back. */
async function backAfterRestore(page, proxy, t, label, targetPort = undefined) {
  const restoredAt = Date.now();
  proxy.restore(targetPort);
  await expectStatus(page, "Connected", STEP_MS);
  const ms = Date.now() - restoredAt;
  t.diagnostic(`${label}: connected again ${ms} ms after the network returned`);
  return restoredAt;
}

test("a 3 s network cut: every message, a direct message and presence changes arrive once, in order", async (t) => {
  const server = await startPeercable([...baseArgs, "--stream-history-limit", "1000"]);
  const proxy = new CutProxy(server.port);
  const proxyPort = await proxy.listen();
  const room = "resume-cut";
  const people = [];
  try {
    const alice = await openPage(`http://127.0.0.1:${proxyPort}`, "alice", "Alice", room);
    const bob = await openPage(server.url, "bob", "Bob", room, { width: 420, height: 760 });
    const carol = await cablePerson(server, "carol", "Carol", room);
    const erin = await cablePerson(server, "erin", "Erin", room);
    people.push(carol, erin);
    await alice.waitForFunction(() => document.querySelectorAll("#chat .person").length === 4);

    // Bob opens a private conversation with Alice and gets her key (signals through the server).
    await bob.locator('#chat .person__dm[data-user-id="alice"]').click();
    await bob.waitForFunction(() => /Safety number/.test(document.querySelector("#chat .e2e")?.textContent ?? ""));

    let dan;
    let restoredAt;
    await publish(carol, MESSAGES, async (n) => {
      if (n === 60) {
        proxy.cut();
        await expectStatus(alice, "Reconnecting");
      }
      if (n === 80) {
        // During the gap: a direct message, one person leaves and one joins. Bob's page no longer offers Alice
        // as a recipient (she left its presence list when her connection dropped), so the message goes through
        // Bob's controller directly: encrypted with the key it already has, sent as the composer sends it.
        await bob.evaluate(() => window.Stimulus.getControllerForElementAndIdentifier(document.getElementById("chat"), "p2p")
          .sendEncrypted({ id: "alice", name: "Alice" }, "a secret sent during the gap"));
        await waitForBody(bob, "a secret sent during the gap");
        await erin.close();
        dan = await cablePerson(server, "dan", "Dan", room);
        people.push(dan);
        await shot(alice, "01-cut-reconnecting");
      }
      if (n === 60 + Math.round((CUT_MS / 1000) * RATE)) restoredAt = await backAfterRestore(alice, proxy, t, "cut");
    });
    await waitForBody(alice, `n ${MESSAGES}`);
    t.diagnostic(`cut: last message shown ${Date.now() - restoredAt} ms after the network returned (publishing went on meanwhile)`);
    // Bob was connected throughout: everything was published (a miss on Alice's page is then the resume's).
    await waitForBody(bob, `n ${MESSAGES}`);
    await assertAllNumbered(bob, MESSAGES);
    await assertAllNumbered(alice, MESSAGES);
    assertNoDuplicateFrames(alice);

    await waitForBody(alice, "a secret sent during the gap");
    const dm = alice.locator("#messages .message--direct.message--encrypted", { hasText: "a secret sent during the gap" });
    assert.equal(await dm.count(), 1, "the direct message is shown once");
    assert.equal(await dm.locator(".message__tag").textContent(), "private to you");
    await dm.scrollIntoViewIfNeeded();
    await shot(alice, "02-cut-direct-message");

    await alice.waitForFunction(() => {
      const names = [...document.querySelectorAll("#chat .person .person__name")].map((el) => el.textContent);
      return names.includes("Dan") && !names.includes("Erin");
    });
    assert.deepEqual((await presenceNames(alice)).sort(), ["Alice (you)", "Bob", "Carol", "Dan"]);
    assert.ok(await alice.locator("#history-notice").isHidden(), "no history-lost notice after a short cut");
    await alice.locator("#messages").evaluate((list) => { list.scrollTop = list.scrollHeight; });
    await shot(alice, "03-cut-back");
    await alice.context().close();
    await bob.context().close();
  } finally {
    for (const p of people) await p.close();
    await proxy.close();
    await server.stop();
  }
});

test("a server restart (SQLite, same --data-dir and port) while the page is away: nothing lost", async (t) => {
  const args = [...baseArgs, "--stream-history-limit", "1000", "--stream-history-store", "sqlite"];
  let server = await startPeercable(args);
  const { port, dataDir } = server;
  const proxy = new CutProxy(port);
  const proxyPort = await proxy.listen();
  const room = "resume-restart";
  let carol;
  try {
    const alice = await openPage(`http://127.0.0.1:${proxyPort}`, "alice", "Alice", room);
    carol = await cablePerson(server, "carol", "Carol", room);
    const half = MESSAGES / 2;
    // The page is cut off first, so it cannot hear the goodbye and comes back to a server it has not seen.
    await publish(carol, half, async (n) => {
      if (n === half - 40) proxy.cut();
    });
    await carol.close();
    await server.stop();
    server = await startPeercable([...args, "--data-dir", dataDir], { port });
    carol = await cablePerson(server, "carol", "Carol", room);
    let restoredAt;
    const rest = Array.from({ length: half }, (_, i) => `n ${half + i + 1}`);
    const start = Date.now();
    for (const [i, body] of rest.entries()) {
      if (i === 40) restoredAt = await backAfterRestore(alice, proxy, t, "restart");
      const due = start + ((i + 1) * 1000) / RATE;
      if (due > Date.now()) await sleep(due - Date.now());
      carol.speak(body);
    }
    await waitForBody(alice, `n ${MESSAGES}`);
    t.diagnostic(`restart: last message shown ${Date.now() - restoredAt} ms after the network returned`);
    await assertAllNumbered(alice, MESSAGES);
    assertNoDuplicateFrames(alice);
    assert.ok(await alice.locator("#history-notice").isHidden(), "no history-lost notice: the server kept its history");
    await shot(alice, "04-restart-back");
    await alice.context().close();
  } finally {
    await carol?.close();
    await proxy.close();
    await server.stop();
  }
});

test("moved to another node (two nodes on one redis-server, the first stopped): nothing lost",
  { skip: redisMissing() ?? false }, async (t) => {
    const redis = await startRedis();
    // Stream history, epochs and sessions are in Redis: node B knows what node A sent the page.
    const [a, b] = await startNodes(redis, 2, [...baseArgs, "--stream-history-limit", "1000"]);
    const proxy = new CutProxy(a.port);
    const proxyPort = await proxy.listen();
    const room = "resume-moved";
    let carol;
    try {
      const alice = await openPage(`http://127.0.0.1:${proxyPort}`, "alice", "Alice", room);
      carol = await cablePerson(b, "carol", "Carol", room);  // speaks on node B: it reaches A through Redis
      await alice.waitForFunction(() => document.querySelectorAll("#chat .person").length === 2);
      let aStopped;
      let restoredAt;
      await publish(carol, MESSAGES, async (n) => {
        if (n === 60) {
          proxy.cut();
          aStopped = a.stop();  // node A goes away for good: the page can only come back on B
          await expectStatus(alice, "Reconnecting");
          await shot(alice, "06-moved-reconnecting");
        }
        if (n === 60 + Math.round((CUT_MS / 1000) * RATE)) {
          assert.equal(await aStopped, 0, "node A exits 0");
          restoredAt = await backAfterRestore(alice, proxy, t, "moved", b.port);
        }
      });
      await waitForBody(alice, `n ${MESSAGES}`);
      t.diagnostic(`moved: last message shown ${Date.now() - restoredAt} ms after the network returned`);
      await assertAllNumbered(alice, MESSAGES);
      assertNoDuplicateFrames(alice);
      const welcomes = alice.framesReceived.filter((f) => f.includes('"type":"welcome"')).map((f) => JSON.parse(f));
      assert.equal(welcomes.length, 2, "one connection to A, one to B");
      assert.equal(welcomes[1].restored, true, `node B restored the session A made: ${JSON.stringify(welcomes)}`);
      assert.ok(await alice.locator("#history-notice").isHidden(), "no history-lost notice: Redis kept the history");
      await alice.locator("#messages").evaluate((list) => { list.scrollTop = list.scrollHeight; });
      await shot(alice, "07-moved-back");
      await alice.context().close();
    } finally {
      await carol?.close();
      await proxy.close();
      await Promise.all([a.stop(), b.stop()]);
      await redis.kill();
    }
  });

test("an evicted offset: the page says history was lost and reloads the room", async (t) => {
  const server = await startPeercable([...baseArgs, "--stream-history-limit", "5"]);
  const proxy = new CutProxy(server.port);
  const proxyPort = await proxy.listen();
  const room = "resume-evicted";
  let carol, dan;
  try {
    const alice = await openPage(`http://127.0.0.1:${proxyPort}`, "alice", "Alice", room);
    carol = await cablePerson(server, "carol", "Carol", room);
    await alice.waitForFunction(() => document.querySelectorAll("#chat .person").length === 2);
    carol.speak("before the cut");
    await waitForBody(alice, "before the cut");
    const historyFrames = () => alice.framesReceived.filter((f) => f.includes('"type":"history"')).length;
    const before = historyFrames();

    proxy.cut();
    await expectStatus(alice, "Reconnecting");
    for (let n = 1; n <= 20; n++) carol.speak(`n ${n}`);  // more than the 5 the server keeps
    dan = await cablePerson(server, "dan", "Dan", room);
    await backAfterRestore(alice, proxy, t, "evicted");

    await alice.locator("#history-notice").waitFor({ state: "visible" });
    assert.match(await alice.locator("#history-notice").textContent(), /could not be recovered/);
    // The room is loaded afresh: a new subscription brings its recent messages and who is here now. Its
    // stream replay (since the subscription) can show "n 20" before the room's history frame is in: wait for both.
    await waitForBody(alice, "n 20");
    await until(() => historyFrames() > before, "the room's history fetched anew", STEP_MS);
    await assertAllNumbered(alice, 20);
    assert.equal((await bodies(alice)).filter((b) => b === "before the cut").length, 1);
    await alice.waitForFunction(() => [...document.querySelectorAll("#chat .person .person__name")]
      .some((el) => el.textContent === "Dan"));
    await expectStatus(alice, "Connected");
    await shot(alice, "05-history-lost");

    await alice.locator("#history-notice button").click();
    await alice.locator("#history-notice").waitFor({ state: "hidden" });
    await alice.context().close();
  } finally {
    await carol?.close();
    await dan?.close();
    await proxy.close();
    await server.stop();
  }
});

test("no dialog and no uncaught error in any page during the run", () => {
  assert.deepEqual(surprises, []);
});
