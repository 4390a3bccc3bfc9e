// End-to-end: the chat page served by the real peercable binary, driven in real headless Chromium.
// Run: node --test tests/e2e/   (builds web/dist first when it is missing)
// Screenshots of every state land in tests/e2e/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createServer, connect } from "node:net";
import { startPeercable } from "../lib/peercable.mjs";
import {
  launchChromium, buildWebIfMissing, distDir, artifactsDir, shot, openWatchedPage, recordFramesReceived, waitForStatus,
  signInAsGuest,
} from "../lib/browser.mjs";

// Every browser in these tests signs in as a guest from 127.0.0.1: more than the per-address default allows.
const serverArgs = ["--web-root", distDir, "--max-guest-signins-per-ip", "0"];
const STEP_MS = 10000;

let server;
let browser;
const contexts = [];
// Dialogs (alert, confirm…) and uncaught page errors: the page must produce none.
const surprises = [];

/** Opens a page in a new browser context (its own sessionStorage), recording dialogs, errors and frames. */
async function openPage({ viewport = { width: 1280, height: 800 }, locale = "en-US", init } = {}) {
  const page = await openWatchedPage(browser, { surprises, timeout: STEP_MS, init, viewport, locale });
  contexts.push(page.context());
  recordFramesReceived(page);
  return page;
}

const expectStatus = (page, text, timeout = STEP_MS) => waitForStatus(page, text, { timeout });

const signIn = (page, name, room = "lobby", base = server.url) => signInAsGuest(page, base + "/", name, room);

/** Types `text` into the composer and presses Enter. */
async function say(page, text) {
  await page.fill("#composer-input", text);
  await page.press("#composer-input", "Enter");
}

function messageBodies(page) {
  return page.locator("#messages .message__body").allTextContents();
}

async function waitForMessage(page, text, timeout = STEP_MS) {
  await page.waitForFunction(
    (want) => [...document.querySelectorAll("#messages .message__body")].some((el) => el.textContent === want),
    text, { timeout },
  );
}

/** One key per shown message: its id and send time (a history replay repeats both). */
async function messageIds(page) {
  return page.locator("#messages .message").evaluateAll(
    (items) => items.map((item) => `${item.dataset.messageId}@${item.dataset.sentAt}`));
}

async function presenceNames(page) {
  return page.locator("#chat .person__name").allTextContents();
}

/** Frames this page received that carry the message with `key` (id@sent_at), outside history. */
function framesWithMessage(page, key) {
  return page.framesReceived.filter((frame) => {
    try {
      const message = JSON.parse(frame).message;
      return message && (message.type === "message" || message.type === "direct") &&
        `${message.id}@${message.sent_at}` === key;
    } catch {
      return false;
    }
  }).length;
}

/**
 * A TCP relay in front of the server, to drop a browser's connections while the server keeps running
 * (a network fault, not a fake server). cut() resets every relayed connection and refuses new ones
 * until resume().
 */
async function startRelay(targetPort) {
  const sockets = new Set();
  let accepting = true;
  const relay = createServer((client) => {
    if (!accepting) return client.destroy();
    const upstream = connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise((resolve) => relay.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${relay.address().port}`,
    cut() {
      accepting = false;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    resume() {
      accepting = true;
    },
    close() {
      this.cut();
      return new Promise((resolve) => relay.close(resolve));
    },
  };
}

let alice;
let bob;

before(async () => {
  buildWebIfMissing();
  mkdirSync(artifactsDir, { recursive: true });
  server = await startPeercable(serverArgs);
  browser = await launchChromium();
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
});

test("sign-in refuses an empty name with a visible reason", async () => {
  const page = await openPage();
  await page.goto(server.url + "/");
  await shot(page, "01-sign-in");
  await page.fill("#sign-in-name", "   ");
  await page.click("#sign-in-submit");
  await assert.doesNotReject(page.locator("#sign-in-error").waitFor({ state: "visible" }));
  assert.match(await page.locator("#sign-in-error").textContent(), /display name/i);
  await shot(page, "02-sign-in-refused");
  await page.context().close();
});

test("two people sign in and chat both ways", async () => {
  alice = await openPage({ locale: "en-US" });
  bob = await openPage({ viewport: { width: 390, height: 844 }, locale: "de-DE" });
  await signIn(alice, "Alice");
  await signIn(bob, "Bob");

  await alice.waitForFunction(() => document.querySelectorAll("#chat .person").length === 2);
  assert.deepEqual((await presenceNames(alice)).sort(), ["Alice (you)", "Bob"]);

  await say(alice, "Hello Bob");
  await waitForMessage(bob, "Hello Bob");
  await say(bob, "Hi Alice, line one\nline two");
  await waitForMessage(alice, "Hi Alice, line one\nline two");

  // Own messages are marked, others carry the sender's name; times follow each reader's locale.
  const aliceOwn = alice.locator("#messages .message--own .message__body");
  assert.deepEqual(await aliceOwn.allTextContents(), ["Hello Bob"]);
  const fromOnBob = await bob.locator("#messages .message:not(.message--own) .message__from").allTextContents();
  assert.deepEqual(fromOnBob, ["Alice"]);
  assert.match(await alice.locator("#messages time").first().textContent(), /(AM|PM)/);
  assert.match(await bob.locator("#messages time").first().textContent(), /^\d{2}:\d{2}$/);

  // Typing indicator: Bob types, Alice is told.
  await bob.locator("#composer-input").pressSequentially("typing something");
  await alice.waitForFunction(() => document.querySelector("#chat .typing").textContent === "Bob is typing…");
  await shot(alice, "03-chat-desktop-alice");
  await shot(bob, "04-chat-phone-bob");
  await bob.fill("#composer-input", "");
});

test("markup in a message shows as literal text and runs nothing", async () => {
  const attack = "<img src=x onerror=alert(1)>";
  await say(alice, attack);
  await waitForMessage(bob, attack);
  await waitForMessage(alice, attack);
  assert.equal(await bob.locator("#messages img").count(), 0);
  assert.equal(await alice.locator("#messages img").count(), 0);
  await bob.waitForTimeout(300);
  assert.deepEqual(surprises, []);
  await shot(bob, "05-literal-markup");
});

test("empty and over-long input are refused with a visible reason", async () => {
  const before = (await messageIds(bob)).length;

  await alice.fill("#composer-input", "");
  await alice.press("#composer-input", "Enter");
  const error = alice.locator("#composer-error");
  await error.waitFor({ state: "visible" });
  assert.match(await error.textContent(), /Nothing to send/);
  await shot(alice, "06-refused-empty");

  await say(alice, "  \n  ");
  assert.match(await error.textContent(), /Nothing to send/);

  // 2049 × "é" is 2049 characters but 4098 bytes of UTF-8: over the 4096-byte limit.
  await alice.fill("#composer-input", "é".repeat(2049));
  await alice.press("#composer-input", "Enter");
  assert.match(await error.textContent(), /Too long to send: 4,098 bytes/);
  assert.ok(await alice.locator("#composer-counter.over").isVisible(), "the byte counter shows the overflow");
  assert.equal(await alice.locator("#composer-input").inputValue(), "é".repeat(2049), "the text stays for editing");
  await shot(alice, "07-refused-too-long");

  // Exactly 4096 bytes is allowed, and the server delivers it.
  const longest = "é".repeat(2048);
  await say(alice, longest);
  await waitForMessage(bob, longest);
  assert.ok(await error.isHidden());
  assert.equal((await messageIds(bob)).length, before + 1, "only the valid message was delivered");
});

test("keyboard-only: sign in, send, and newline with Shift+Enter", async () => {
  const carol = await openPage();
  await carol.goto(server.url + "/");
  // The name field has focus on load; everything below is keys only.
  await carol.keyboard.type("Carol");
  await carol.keyboard.press("Tab");
  await carol.keyboard.press("Tab");
  await carol.keyboard.press("Enter");
  await expectStatus(carol, "Connected");
  assert.equal(await carol.evaluate(() => document.activeElement.id), "composer-input");
  const outline = await carol.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none", "the focused field shows a focus ring");

  // History: Carol arrived late and still sees what was said before.
  await waitForMessage(carol, "Hello Bob");

  await carol.keyboard.type("first line");
  await carol.keyboard.press("Shift+Enter");
  await carol.keyboard.type("second line");
  await carol.keyboard.press("Enter");
  await waitForMessage(alice, "first line\nsecond line");
  await shot(carol, "08-keyboard-only");

  // Tab onward reaches the send button and the people list without a mouse.
  await carol.keyboard.press("Tab");
  assert.equal(await carol.evaluate(() => document.activeElement.textContent.trim()), "Send");
  await carol.context().close();
});

test("a direct message reaches only its recipient", async () => {
  await alice.waitForFunction(() => document.querySelectorAll("#chat .person").length === 2);
  await alice.getByRole("button", { name: "Message Bob privately" }).click();
  await alice.locator("#chat .recipient").waitFor({ state: "visible" });
  await say(alice, "just between us");
  await waitForMessage(bob, "just between us");
  await waitForMessage(alice, "just between us");
  assert.equal(await bob.locator("#messages .message--direct .message__tag").last().textContent(), "private to you");
  assert.equal(await alice.locator("#messages .message--direct .message__tag").last().textContent(), "private to Bob");
  await shot(alice, "09-direct-message");
  await alice.getByRole("button", { name: "Back to the room" }).click();
  await alice.locator("#chat .recipient").waitFor({ state: "hidden" });
});

test("after a server restart on the same port: reconnecting, then connected, no duplicates", async () => {
  const idsBefore = { alice: await messageIds(alice), bob: await messageIds(bob) };
  const port = server.port;
  await server.stop();

  await expectStatus(alice, "Reconnecting");
  await expectStatus(bob, "Reconnecting");
  await alice.waitForFunction(() => /Next attempt in \d+ s/.test(document.querySelector("#chat .status__detail").textContent));
  await shot(alice, "10-reconnecting-desktop");
  await shot(bob, "11-reconnecting-phone");

  // Sending while disconnected is refused, and the text is kept.
  await say(bob, "kept while disconnected");
  assert.match(await bob.locator("#composer-error").textContent(), /Not connected/);
  assert.equal(await bob.locator("#composer-input").inputValue(), "kept while disconnected");

  server = await startPeercable([...serverArgs, "--data-dir", server.dataDir], { port });
  await expectStatus(alice, "Connected", 40000);
  await expectStatus(bob, "Connected", 40000);
  await alice.waitForFunction(() => document.querySelectorAll("#chat .person").length === 2);

  await say(alice, "back again");
  await waitForMessage(bob, "back again");
  await waitForMessage(alice, "back again");
  await bob.press("#composer-input", "Enter");
  await waitForMessage(alice, "kept while disconnected");
  await shot(alice, "12-reconnected-desktop");
  await shot(bob, "13-reconnected-phone");

  for (const [name, page] of [["alice", alice], ["bob", bob]]) {
    const ids = await messageIds(page);
    assert.equal(new Set(ids).size, ids.length, `${name}: no message shown twice`);
    for (const id of idsBefore[name]) assert.ok(ids.includes(id), `${name}: earlier messages are still shown`);
    const bodies = await messageBodies(page);
    assert.equal(bodies.filter((b) => b === "back again").length, 1, `${name}: new message shown once`);
    const item = page.locator("#messages .message", { hasText: "back again" });
    const key = `${await item.getAttribute("data-message-id")}@${await item.getAttribute("data-sent-at")}`;
    assert.equal(framesWithMessage(page, key), 1, `${name}: the server delivered it once (one subscription)`);
  }
});

test("a dropped connection comes back with what was missed, each message once", async () => {
  const relay = await startRelay(server.port);
  try {
    const dave = await openPage();
    await signIn(dave, "Dave", "lobby", relay.url);
    await waitForMessage(dave, "back again");
    const historyFrames = () => dave.framesReceived.filter((f) => f.includes('"type":"history"')).length;
    assert.equal(historyFrames(), 1);

    relay.cut();
    await expectStatus(dave, "Reconnecting");
    await say(bob, "said while Dave was away");
    await waitForMessage(alice, "said while Dave was away");
    await shot(dave, "14-dropped-reconnecting");

    relay.resume();
    await expectStatus(dave, "Connected", 40000);
    // The replayed history carries both what Dave had and what he missed: each is shown once.
    await waitForMessage(dave, "said while Dave was away");
    // The page resumes its session (extended protocol): what it missed is replayed from the stream's history,
    // once, and the room's history is not fetched again.
    const missed = dave.locator("#messages .message", { hasText: "said while Dave was away" });
    const missedKey = `${await missed.getAttribute("data-message-id")}@${await missed.getAttribute("data-sent-at")}`;
    assert.equal(framesWithMessage(dave, missedKey), 1, "the server replayed what was missed once");
    const ids = await messageIds(dave);
    assert.equal(new Set(ids).size, ids.length, "no message shown twice");
    const bodies = await messageBodies(dave);
    assert.equal(bodies.filter((b) => b === "back again").length, 1);
    await shot(dave, "15-dropped-reconnected");
    await dave.context().close();
  } finally {
    await relay.close();
  }
});

test("a bad token and an invalid room are rejected with the reason", async () => {
  const stranger = await openPage({
    init: () => sessionStorage.setItem("peercable.session",
      JSON.stringify({ token: "not.a.token", user: { id: "g_0", name: "Stranger" } })),
  });
  await stranger.goto(server.url + "/");
  await expectStatus(stranger, "Rejected");
  assert.match(await stranger.locator("#notice").textContent(), /Not signed in/);
  assert.ok(await stranger.locator("#notice-sign-in").isVisible());
  await shot(stranger, "16-rejected-unauthorized");
  await stranger.click("#notice-sign-in");
  await stranger.locator("#sign-in").waitFor({ state: "visible" });

  await alice.fill("#room-input", "no spaces allowed!");
  await alice.press("#room-input", "Enter");
  await expectStatus(alice, "Rejected");
  assert.match(await alice.locator("#notice").textContent(), /refused room “no spaces allowed!”/);
  assert.ok(await alice.locator("#notice").isVisible());
  await shot(alice, "17-rejected-room");

  await alice.fill("#room-input", "lobby");
  await alice.press("#room-input", "Enter");
  await expectStatus(alice, "Connected");
  await waitForMessage(alice, "back again");
  const ids = await messageIds(alice);
  assert.equal(new Set(ids).size, ids.length);
});

test("leave, then join again: presence follows and history is shown once", async () => {
  await bob.waitForFunction(() => document.querySelectorAll("#chat .person").length === 2);
  await alice.getByRole("button", { name: "Leave" }).click();
  await expectStatus(alice, "Not in a room");
  await bob.waitForFunction(() => document.querySelectorAll("#chat .person").length === 1);
  assert.deepEqual(await presenceNames(bob), ["Bob (you)"]);
  await shot(alice, "18-left-room");

  await alice.getByRole("button", { name: "Join" }).click();
  await expectStatus(alice, "Connected");
  await bob.waitForFunction(() => document.querySelectorAll("#chat .person").length === 2);
  await waitForMessage(alice, "back again");
  const ids = await messageIds(alice);
  assert.equal(new Set(ids).size, ids.length);
});

test("offline and back", async () => {
  await alice.context().setOffline(true);
  await expectStatus(alice, "Offline");
  await shot(alice, "19-offline");
  await alice.context().setOffline(false);
  await expectStatus(alice, "Connected", 30000);
  await say(alice, "online again");
  await waitForMessage(bob, "online again");
});

test("no dialog and no uncaught error in any page during the run", () => {
  assert.deepEqual(surprises, []);
});
