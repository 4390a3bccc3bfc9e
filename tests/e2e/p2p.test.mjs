// End-to-end: files, calls and encrypted direct messages between two people on the page at /, in real
// headless Chromium (fake camera and microphone) against the real server and, for relay-only ICE, a real
// coturn using credentials peercable minted.
// Run: node --test tests/e2e/p2p.test.mjs   (builds web/dist first when it is missing)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPeercable, freePort } from "../lib/peercable.mjs";
import {
  launchChromium, buildWebIfMissing, distDir, artifactsDir, shot, openWatchedPage, signInAsGuest,
} from "../lib/browser.mjs";
import { openInboxClient } from "../lib/inbox_client.mjs";
import { startRedis, startNode } from "../lib/redis.mjs";
import { connect } from "node:net";
import { formatBytes } from "../../web/src/peer/file_transfer.js";

const STEP_MS = 15000;
// The file-transfer test sends this many MiB (20 in CI; set PEERCABLE_P2P_FILE_MIB=300 to try a large one).
const FILE_MIB = Number(process.env.PEERCABLE_P2P_FILE_MIB || 20);
const TURN_SECRET = "peercable-e2e-turn-secret";
const work = mkdtempSync(join(tmpdir(), "peercable-p2p-"));

let server;
let turn;
let browser;
const surprises = [];

/** Starts Debian's coturn on loopback with the shared-secret scheme; resolves once it listens. */
async function startCoturn() {
  const port = await freePort();
  const relayBase = 40000 + Math.floor(Math.random() * 20000);
  const args = ["-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", `--listening-port=${port}`,
    `--min-port=${relayBase}`, `--max-port=${relayBase + 50}`, "--use-auth-secret",
    `--static-auth-secret=${TURN_SECRET}`, "--realm=peercable.test", "--allow-loopback-peers", "--no-tls",
    "--no-dtls", "--no-cli", "--no-multicast-peers", "--log-file=stdout", "--verbose",
    `--db=${join(work, "turndb")}`, `--pidfile=${join(work, "turnserver.pid")}`];
  const proc = spawn("turnserver", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const deadline = Date.now() + 10000;
  while (!/listener opened on/i.test(out) && !/Total General servers/i.test(out)) {
    if (proc.exitCode !== null) throw new Error(`turnserver exited: ${out}`);
    if (Date.now() > deadline) throw new Error(`turnserver did not start: ${out.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, proc, logs: () => out, stop: () => proc.kill("SIGTERM") };
}

/**
 * Opens a page in its own context and records every WebSocket frame it sends or receives through the
 * DevTools protocol (Network.webSocketFrameSent/Received), so a test can say what crossed the server.
 */
async function openPage({ viewport = { width: 1280, height: 800 }, init, path = "/" } = {}) {
  const page = await openWatchedPage(browser, { surprises, timeout: STEP_MS, init, viewport, acceptDownloads: true });
  page.frames = [];
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  cdp.on("Network.webSocketFrameSent", ({ response }) => page.frames.push(response.payloadData));
  cdp.on("Network.webSocketFrameReceived", ({ response }) => page.frames.push(response.payloadData));
  page.path = path;
  return page;
}

const signIn = (page, name, room, base = server.url) => signInAsGuest(page, base + page.path, name, room);

async function openDm(page, name) {
  await page.getByRole("button", { name: `Message ${name} privately` }).click();
  await page.locator(".recipient").waitFor({ state: "visible" });
}

function framesContaining(page, text) {
  return page.frames.filter((frame) => frame.includes(text));
}

/** Writes `bytes` random bytes with `marker` inside; returns {path, sha256}. */
function randomFile(name, bytes, marker) {
  const data = randomBytes(bytes);
  if (marker) Buffer.from(marker).copy(data, Math.floor(bytes / 2));
  const path = join(work, name);
  writeFileSync(path, data);
  return { path, sha256: createHash("sha256").update(data).digest("hex") };
}

async function chooseFile(page, path) {
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.getByRole("button", { name: "Send file" }).click()]);
  await chooser.setFiles(path);
}

function card(page, name) {
  return page.locator(".transfer", { has: page.locator(".transfer__name", { hasText: name }) });
}

async function waitState(page, name, state, timeout = STEP_MS) {
  await page.waitForFunction(([n, s]) => [...document.querySelectorAll(".transfer")].some(
    (c) => c.querySelector(".transfer__name")?.textContent === n && c.dataset.state === s), [name, state], { timeout });
}

/** Records, in the page, every byte count a transfer card showed (to see progress, not just the end). */
function watchProgress() {
  window.__progress = [];
  // Main-thread tasks over 50 ms (the browser's "long tasks"): what a person would feel as the page freezing.
  window.__longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(Math.round(e.duration));
    }).observe({ type: "longtask" });
  } catch {}
  new MutationObserver((records) => {
    for (const r of records) if (r.attributeName === "data-bytes") window.__progress.push(Number(r.target.dataset.bytes));
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-bytes"] });
}

/** Resolves when the page's remote <video> plays: frames (or, audio only, time) advance. */
async function remotePlays(page, { video }) {
  await page.waitForFunction(() => {
    const v = document.querySelector(".call__remote");
    return v && v.srcObject && v.readyState >= 2 && v.currentTime > 0;
  }, null, { timeout: 20000 }).catch(async (error) => {
    const state = await page.evaluate(() => {
      const v = document.querySelector(".call__remote");
      return v && { readyState: v.readyState, time: v.currentTime, paused: v.paused,
        tracks: v.srcObject?.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.muted}`) };
    });
    state.links = await page.evaluate(async () => {
      const c = window.Stimulus.getControllerForElementAndIdentifier(document.getElementById("chat"), "p2p");
      const out = [];
      for (const link of c.peer.links.values()) {
        const stats = [...(await link.pc.getStats()).values()].filter((x) => x.type === "inbound-rtp" || x.type === "outbound-rtp")
          .map((x) => `${x.type}:${x.kind}:${x.packetsReceived ?? x.packetsSent}`);
        out.push({ sig: link.pc.signalingState, conn: link.pc.connectionState, stats,
          tr: link.pc.getTransceivers().map((t) => `${t.mid}:${t.direction}:${t.currentDirection}:${t.receiver.track.kind}:${t.sender.track?.kind}`) });
      }
      return out;
    });
    throw new Error(`${error.message}; remote: ${JSON.stringify(state)}`);
  });
  const first = await page.evaluate(() => document.querySelector(".call__remote").currentTime);
  await page.waitForFunction((t) => document.querySelector(".call__remote").currentTime > t + 0.5, first, { timeout: 20000 });
  if (video) {
    const size = await page.evaluate(() => [document.querySelector(".call__remote").videoWidth, document.querySelector(".call__remote").videoHeight]);
    assert.ok(size[0] > 0 && size[1] > 0, `remote video has a size: ${size}`);
  }
}

let alice;
let bob;
const room = "p2p-e2e";

before(async () => {
  mkdirSync(artifactsDir, { recursive: true });
  buildWebIfMissing();
  turn = await startCoturn();
  server = await startPeercable(["--web-root", distDir, "--max-guest-signins-per-ip", "0", "--log-level", "debug",
    "--turn-urls", `turn:127.0.0.1:${turn.port}?transport=udp`, "--turn-secret", TURN_SECRET]);
  browser = await launchChromium(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    // Host candidates as plain addresses: two contexts on one machine cannot resolve each other's mDNS names.
    "--disable-features=WebRtcHideLocalIpsWithMdns"]);
  alice = await openPage();
  bob = await openPage();
  await alice.addInitScript(watchProgress);
  await bob.addInitScript(watchProgress);
  await signIn(alice, "Alice", room);
  await signIn(bob, "Bob", room);
  await openDm(alice, "Bob");
  await openDm(bob, "Alice");
});

after(async () => {
  await browser?.close();
  await server?.stop();
  turn?.stop();
});

test("GET /ice-servers hands minted TURN credentials only to signed-in clients", async () => {
  assert.equal((await fetch(`${server.url}/ice-servers`)).status, 401);
  assert.equal((await fetch(`${server.url}/ice-servers`, { headers: { Authorization: "Bearer nope" } })).status, 401);
  const { token, user } = await (await fetch(`${server.url}/session`, { method: "POST", body: JSON.stringify({ name: "Probe" }) })).json();
  const answer = await (await fetch(`${server.url}/ice-servers`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const [entry] = answer.iceServers;
  assert.deepEqual(entry.urls, [`turn:127.0.0.1:${turn.port}?transport=udp`]);
  const [expiry, who] = entry.username.split(":");
  assert.equal(who, user.id);
  assert.ok(Number(expiry) > Date.now() / 1000);
  assert.equal(entry.credential, createHmac("sha1", TURN_SECRET).update(entry.username).digest("base64"));
});

test(`a ${FILE_MIB} MiB file goes browser to browser: progress, SHA-256 check, ordinary download, nothing through the server`, async () => {
  const bytes = FILE_MIB * 1024 * 1024;
  const name = `file-${FILE_MIB}mib.bin`;
  const marker = `PEERCABLE-MARKER-${randomBytes(8).toString("hex")}`;
  const file = randomFile(name, bytes, marker);
  await chooseFile(alice, file.path);
  const incoming = card(bob, name);
  await incoming.getByRole("button", { name: "Accept" }).waitFor();
  assert.equal(await incoming.locator(".transfer__meta").textContent(), `${formatBytes(bytes)} · from Alice`);
  await shot(bob, "p2p-01-incoming-file");
  await incoming.getByRole("button", { name: "Accept" }).click();
  await bob.waitForFunction((total) => window.__progress.some((b) => b > 0 && b < total), bytes);
  await shot(bob, "p2p-02-transfer-in-progress");
  await waitState(bob, name, "done", 60000 + FILE_MIB * 2000);
  await waitState(alice, name, "done");
  for (const page of [alice, bob]) {
    assert.ok(await page.evaluate((total) => window.__progress.some((b) => b > 0 && b < total), bytes), "progress was shown");
    assert.match(await card(page, name).locator(".transfer__status").textContent(), /\/s/, "a rate was shown");
  }
  assert.equal(await incoming.getAttribute("data-sha256"), file.sha256);
  const [download] = await Promise.all([bob.waitForEvent("download"), incoming.getByRole("link", { name: "Save" }).click()]);
  assert.equal(download.suggestedFilename(), name);
  assert.equal(createHash("sha256").update(readFileSync(await download.path())).digest("hex"), file.sha256);
  const rate = await card(alice, name).locator(".transfer__status").textContent();
  console.log(`# ${FILE_MIB} MiB transfer on loopback, sender's view: ${rate}`);
  for (const [who, page] of [["sender", alice], ["receiver", bob]]) {
    const tasks = await page.evaluate(() => window.__longTasks);
    console.log(`# ${who}'s main-thread tasks over 50 ms during the page's life: ${tasks.length}, longest ${Math.max(0, ...tasks)} ms`);
  }
  await shot(alice, "p2p-03-transfer-done-sender");
  for (const page of [alice, bob]) assert.deepEqual(framesContaining(page, marker), [], "the marker crossed a WebSocket");
  assert.ok(alice.frames.length > 0 && bob.frames.length > 0, "frames were recorded");
});

test("a cancelled transfer ends on both sides, whoever cancels", async () => {
  const one = randomFile("cancel-by-sender.bin", 256 * 1024);
  await chooseFile(alice, one.path);
  await card(bob, "cancel-by-sender.bin").getByRole("button", { name: "Accept" }).waitFor();
  await card(alice, "cancel-by-sender.bin").getByRole("button", { name: "Cancel" }).click();
  await waitState(alice, "cancel-by-sender.bin", "cancelled");
  await waitState(bob, "cancel-by-sender.bin", "cancelled");
  assert.match(await card(bob, "cancel-by-sender.bin").locator(".transfer__status").textContent(), /Alice cancelled/);

  const two = randomFile("cancel-by-receiver.bin", 8 * 1024 * 1024);
  await chooseFile(alice, two.path);
  const incoming = card(bob, "cancel-by-receiver.bin");
  await incoming.getByRole("button", { name: "Accept" }).waitFor();
  // Accept, then Cancel at once (in one task), before the bytes can all arrive on a fast loopback.
  await bob.evaluate(() => {
    const c = [...document.querySelectorAll(".transfer")].find((el) => el.textContent.includes("cancel-by-receiver.bin"));
    [...c.querySelectorAll("button")].find((b) => b.textContent === "Accept").click();
    [...c.querySelectorAll("button")].find((b) => b.textContent === "Cancel").click();
  });
  await waitState(bob, "cancel-by-receiver.bin", "cancelled");
  await waitState(alice, "cancel-by-receiver.bin", "cancelled");
  assert.equal(await incoming.getByRole("link", { name: "Save" }).count(), 0, "nothing to save");

  const three = randomFile("declined.bin", 1024);
  await chooseFile(alice, three.path);
  await card(bob, "declined.bin").getByRole("button", { name: "Decline" }).click();
  await waitState(alice, "declined.bin", "declined");
  await bob.setViewportSize({ width: 390, height: 844 });
  await shot(bob, "p2p-09-transfers-phone");
  await bob.setViewportSize({ width: 1280, height: 800 });
});

test("a direct message is encrypted: plaintext for the recipient, ciphertext everywhere else", async () => {
  const secret = `secret dm ${randomBytes(6).toString("hex")}`;
  await alice.waitForFunction(() => /Safety number: \d{5} \d{5} \d{5}/.test(document.querySelector(".e2e")?.textContent));
  await bob.waitForFunction(() => /Safety number/.test(document.querySelector(".e2e")?.textContent));
  assert.equal(await alice.locator(".e2e").getAttribute("data-safety-number"), await bob.locator(".e2e").getAttribute("data-safety-number"));
  await alice.fill("#composer-input", secret);
  await alice.press("#composer-input", "Enter");
  for (const page of [bob, alice]) {
    await page.waitForFunction((want) => [...document.querySelectorAll("#messages .message--encrypted .message__body")]
      .some((el) => el.textContent === want), secret);
  }
  for (const page of [alice, bob]) assert.deepEqual(framesContaining(page, secret), [], "plaintext crossed a WebSocket");
  assert.ok(alice.frames.some((f) => f.includes("e2e1.")), "the ciphertext went through the server");
  assert.ok(!server.logs().includes(secret), "plaintext in the server log");
  const rows = execFileSync("sqlite3", [join(server.dataDir, "history.sqlite3"), ".dump"], { encoding: "utf8" });
  assert.ok(!rows.includes(secret), "plaintext in the history database");
  await shot(bob, "p2p-04-encrypted-dm");
});

test("through Redis: every command the server sends Redis carries the direct message as ciphertext only", async () => {
  const redis = await startRedis();
  const monitor = connect(redis.port, "127.0.0.1");
  let seen = "";
  monitor.on("data", (d) => (seen += d));
  monitor.write("MONITOR\r\n");
  const node = await startNode(redis, ["--web-root", distDir, "--max-guest-signins-per-ip", "0"]);
  const fay = await openPage();
  const gil = await openPage();
  try {
    await signIn(fay, "Fay", "redis-room", node.url);
    await signIn(gil, "Gil", "redis-room", node.url);
    await openDm(fay, "Gil");
    await openDm(gil, "Fay");
    const secret = `redis secret ${randomBytes(6).toString("hex")}`;
    await fay.waitForFunction(() => /Safety number/.test(document.querySelector(".e2e")?.textContent));
    await fay.fill("#composer-input", secret);
    await fay.press("#composer-input", "Enter");
    await gil.waitForFunction((want) => [...document.querySelectorAll("#messages .message__body")]
      .some((el) => el.textContent === want), secret);
    assert.match(seen, /e2e1\./, "the ciphertext went through Redis");
    assert.ok(!seen.includes(secret), "plaintext in a Redis command");
    for (const page of [fay, gil]) assert.deepEqual(framesContaining(page, secret), []);
    assert.ok(!node.logs().includes(secret), "plaintext in the server log");
  } finally {
    await fay.context().close();
    await gil.context().close();
    await node.stop();
    monitor.destroy();
    await redis.stop();
  }
});

test("a recipient without a key gets a clear refusal, and nothing is sent", async () => {
  // A plain Action Cable client in the room: present, but it never answers a key request.
  const { token } = await (await fetch(`${server.url}/session`, { method: "POST", body: JSON.stringify({ name: "Dave" }) })).json();
  const dave = openInboxClient(`${server.wsUrl}?token=${token}`);
  await dave.opened;
  const identifier = JSON.stringify({ channel: "P2PChannel", room });
  dave.send({ command: "subscribe", identifier });
  await dave.take((m) => m.type === "confirm_subscription");
  await openDm(alice, "Dave");
  const sentBefore = alice.frames.length;
  await alice.fill("#composer-input", "this must not leave unencrypted");
  await alice.press("#composer-input", "Enter");
  await alice.locator("#composer-error", { hasText: "Cannot encrypt for Dave" }).waitFor();
  assert.deepEqual(alice.frames.slice(sentBefore).filter((f) => f.includes("\\\"direct\\\"")), []);
  assert.deepEqual(framesContaining(alice, "this must not leave unencrypted"), []);
  dave.ws.close();
  await dave.closed;
  await alice.locator(".recipient").waitFor({ state: "hidden" });
  await alice.fill("#composer-input", "");
  await openDm(alice, "Bob");
});

test("a changed key shows a warning, and sending waits for trust", async () => {
  // Bob again, in a fresh browser profile: same user id, new key pair.
  const session = await bob.evaluate(() => sessionStorage.getItem("peercable.session"));
  await bob.context().close();
  bob = await openPage({ init: `sessionStorage.setItem("peercable.session", ${JSON.stringify(session)}); sessionStorage.setItem("peercable.room", ${JSON.stringify(room)});` });
  await bob.goto(server.url + "/");
  await bob.waitForFunction(() => document.querySelector("#chat .status__label")?.textContent === "Connected");
  // Bob left, so Alice's DM view closed; both open it again, which exchanges keys.
  await openDm(alice, "Bob");
  await openDm(bob, "Alice");
  await alice.locator(".key-warning").waitFor({ state: "visible" });
  assert.match(await alice.locator(".key-warning").textContent(), /Bob's encryption key changed/);
  await shot(alice, "p2p-05-key-warning");
  await alice.fill("#composer-input", "after the change");
  await alice.press("#composer-input", "Enter");
  await alice.locator("#composer-error", { hasText: "key changed" }).waitFor();
  await alice.getByRole("button", { name: "Trust new key" }).click();
  await alice.locator(".key-warning").waitFor({ state: "hidden" });
  await alice.press("#composer-input", "Enter");
  await bob.waitForFunction(() => [...document.querySelectorAll("#messages .message__body")].some((el) => el.textContent === "after the change"));
});

test("a video call: both remote videos play, hang up ends it on both sides", async () => {
  await bob.setViewportSize({ width: 390, height: 844 });
  await alice.getByRole("button", { name: "Video call" }).click();
  await bob.locator('.call[data-state="incoming"]').waitFor();
  await shot(bob, "p2p-06-incoming-call-phone");
  await bob.locator(".call").getByRole("button", { name: "Accept" }).click();
  await remotePlays(alice, { video: true });
  await remotePlays(bob, { video: true });
  await bob.getByRole("button", { name: "Mute" }).click();
  await bob.getByRole("button", { name: "Unmute" }).waitFor();
  await bob.getByRole("button", { name: "Camera off" }).click();
  await shot(bob, "p2p-07-call-in-progress-phone");
  await shot(alice, "p2p-08-call-in-progress-desktop");
  await alice.getByRole("button", { name: "Hang up" }).click();
  await alice.locator(".call").waitFor({ state: "hidden" });
  await bob.locator(".call").waitFor({ state: "hidden" });
  await bob.locator(".peer-notice", { hasText: "Alice hung up" }).waitFor();
});

test("an audio call plays and ends when the callee hangs up; a declined call ends for the caller", async () => {
  await bob.setViewportSize({ width: 1280, height: 800 });
  await alice.getByRole("button", { name: "Audio call" }).click();
  await bob.locator('.call[data-state="incoming"][data-kind="audio"]').waitFor();
  await bob.locator(".call").getByRole("button", { name: "Accept" }).click();
  await remotePlays(alice, { video: false });
  await remotePlays(bob, { video: false });
  await bob.getByRole("button", { name: "Hang up" }).click();
  await alice.locator(".call").waitFor({ state: "hidden" });
  await bob.locator(".call").waitFor({ state: "hidden" });

  await alice.getByRole("button", { name: "Audio call" }).click();
  await bob.locator(".call").getByRole("button", { name: "Decline" }).click();
  await alice.locator(".peer-notice", { hasText: "Bob declined the call" }).waitFor();
  await alice.locator(".call").waitFor({ state: "hidden" });
});

test("a call ends when the other side closes the tab", async () => {
  await alice.getByRole("button", { name: "Video call" }).click();
  await bob.locator(".call").getByRole("button", { name: "Accept" }).click();
  await remotePlays(alice, { video: true });
  await bob.close();
  await alice.locator(".call").waitFor({ state: "hidden", timeout: 20000 });
});

test("relay-only ICE through coturn with credentials peercable minted", async () => {
  const carol = await openPage({ path: "/?ice=relay" });
  const erin = await openPage({ path: "/?ice=relay" });
  await signIn(carol, "Carol", "turn-room");
  await signIn(erin, "Erin", "turn-room");
  const carolId = JSON.parse(await carol.evaluate(() => sessionStorage.getItem("peercable.session"))).user.id;
  await openDm(carol, "Erin");
  const file = randomFile("relayed.bin", 2 * 1024 * 1024);
  await chooseFile(carol, file.path);
  await card(erin, "relayed.bin").getByRole("button", { name: "Accept" }).click();
  await waitState(erin, "relayed.bin", "done", 30000);
  assert.equal(await card(erin, "relayed.bin").getAttribute("data-sha256"), file.sha256);
  // coturn names the user of each allocation: Carol's minted "<expiry>:<id>" username.
  assert.match(turn.logs(), new RegExp(`user <\\d+:${carolId}>`), "coturn saw Carol's minted username");
  assert.deepEqual(surprises, []);
});
