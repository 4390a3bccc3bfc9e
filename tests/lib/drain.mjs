// Negative checks ("nothing arrives") without a fixed sleep: after the action under test, a sentinel goes
// through the same path (the same connection, the same stream, the same Redis channel) and the test waits
// until it has arrived where the unwanted thing would show up. Whatever the action caused was ordered before
// the sentinel, so once the sentinel is in, what is absent is absent for good.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

/** A sentinel text no test sends otherwise. */
export const fenceTag = (prefix = "fence") => `${prefix}-${randomBytes(6).toString("hex")}`;

/**
 * Runs `fence` (sends a sentinel after the action under test and resolves once it has arrived at every
 * observer), then asserts that `unwanted()` is empty: an explicit, bounded drain instead of a sleep.
 */
export async function assertNothingBefore(fence, unwanted, what) {
  await fence();
  assert.deepEqual(unwanted(), [], `expected no ${what}`);
}

/** Resolves once `pred()` is true; polls each `stepMs` and throws after `ms` naming `what`. */
export async function until(pred, what, ms = 5000, stepMs = 10) {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** How many lines of `server`'s log match `re` (no flags needed; it is applied per line). */
export function logLines(server, re) {
  return server.logs().split("\n").filter((l) => re.test(l)).length;
}

/**
 * A drain for checks on the log: resolves once `server` has logged `n` lines matching `re` (e.g. one line per
 * refused connection), so that what these events will ever log is in; then a test may assert what is absent.
 */
export function waitForLogLines(server, re, n, ms = 5000) {
  return until(() => logLines(server, re) >= n, `${n} log lines matching ${re}:\n${server.logs()}`, ms);
}
