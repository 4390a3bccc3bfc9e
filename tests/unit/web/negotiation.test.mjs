// The pure parts of the page's WebRTC negotiation (web/src/peer/negotiation.js), outside a browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isPolite, shouldIgnoreOffer, signalRoute } from "../../../web/src/peer/negotiation.js";
import { maxPlaintextBytes } from "../../../web/src/peer/e2e_keys.js";
import { Sha256 } from "../../../web/src/peer/sha256.js";
import { createHash, randomBytes } from "node:crypto";

test("exactly one of two people is polite", () => {
  for (const [a, b] of [["g_1", "g_2"], ["u10", "u9"], ["alice", "bob"]]) {
    assert.notEqual(isPolite(a, b), isPolite(b, a));
  }
});

test("glare: the impolite side ignores a colliding offer, the polite side takes it", () => {
  const glare = { type: "offer", makingOffer: true, signalingState: "have-local-offer", settingRemoteAnswer: false };
  assert.equal(shouldIgnoreOffer({ ...glare, polite: false }), true);
  assert.equal(shouldIgnoreOffer({ ...glare, polite: true }), false);
  // Not glare: stable and not offering.
  const calm = { type: "offer", makingOffer: false, signalingState: "stable", settingRemoteAnswer: false };
  assert.equal(shouldIgnoreOffer({ ...calm, polite: false }), false);
  // An answer is never ignored.
  assert.equal(shouldIgnoreOffer({ ...glare, type: "answer", polite: false }), false);
  // Our answer being applied counts as stable.
  assert.equal(shouldIgnoreOffer({ type: "offer", polite: false, makingOffer: false,
    signalingState: "have-local-offer", settingRemoteAnswer: true }), false);
});

test("a signal from a new connection of the other side replaces ours", () => {
  assert.equal(signalRoute(null, "s1"), "use");
  assert.equal(signalRoute("s1", "s1"), "use");
  assert.equal(signalRoute("s1", "s2"), "replace");
});

test("encrypted messages: the plaintext limit leaves room for the IV, the tag and base64", () => {
  const limit = maxPlaintextBytes(4096);
  assert.equal(limit, 3038);
  // "e2e1." + 16 characters of IV + "." + base64 of plaintext + 16-byte tag
  const body = 5 + 16 + 1 + Math.ceil((limit + 16) / 3) * 4;
  assert.ok(body <= 4096 && 5 + 16 + 1 + Math.ceil((limit + 17) / 3) * 4 > 4096);
});

test("incremental SHA-256 matches node's for any split", () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 70001]) {
    const bytes = randomBytes(n);
    const hash = new Sha256();
    for (let at = 0; at < n; ) {
      const step = 1 + ((at * 7919) % 300);
      hash.update(bytes.subarray(at, at + step));
      at += step;
    }
    assert.equal(hash.hex(), createHash("sha256").update(bytes).digest("hex"), `${n} bytes`);
  }
});
