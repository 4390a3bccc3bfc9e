// Conformance: runs every scenario against Debian's Rails 6.1 Action Cable (the reference app in rails_app/)
// and against the real peercable binary, and requires identical transcripts except for the intended
// differences listed in differences.mjs. The Rails transcripts are also checked against the recorded
// reference (rails-transcripts.json; regenerate with UPDATE_RAILS_TRANSCRIPTS=1 after reviewing a change).
//
// Run: node --test tests/conformance/   (PEERCABLE_BIN overrides the binary; CONFORMANCE_OUT the transcript dir)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startPeercable, binary } from "../lib/peercable.mjs";
import { Session } from "./harness.mjs";
import { SCENARIOS } from "./scenarios.mjs";
import { DIFFERENCES, normalize, verifyPeercable } from "./differences.mjs";
import { startRails, railsMissing } from "./rails.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const referencePath = join(here, "rails-transcripts.json");
const outDir = process.env.CONFORMANCE_OUT || join(tmpdir(), "peercable-conformance");
const updateReference = process.env.UPDATE_RAILS_TRANSCRIPTS === "1";
const reference = existsSync(referencePath) ? JSON.parse(readFileSync(referencePath, "utf8")) : {};

let rails = null;
let railsSkip = null;
let peer = null;
let peerSkip = null;
const shownDifferences = new Set();

const slug = (name) => name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

async function startPeer() {
  if (!existsSync(binary)) return `peercable binary not found at ${binary}`;
  // Rails' frame limit (websocket-driver's max_length); peercable's default is 1 MiB (docs/protocol.md).
  const p = await startPeercable(["--max-message", "67108863"]);
  p.name = "peercable";
  return p;
}

before(async () => {
  mkdirSync(outDir, { recursive: true });
  railsSkip = railsMissing();
  const [r, p] = await Promise.allSettled([
    railsSkip ? Promise.resolve(null) : startRails(),
    startPeer(),
  ]);
  if (r.status === "fulfilled") rails = r.value;
  else railsSkip = `Rails reference did not start: ${r.reason.message}`;
  if (p.status === "fulfilled" && typeof p.value === "object") peer = p.value;
  else peerSkip = p.status === "fulfilled" ? p.value : `peercable did not start: ${p.reason.message}`;
});

after(async () => {
  await Promise.all([rails?.stop(), peer?.stop()]);
  if (updateReference && rails) {
    writeFileSync(referencePath, JSON.stringify(reference, null, 1) + "\n");
  }
});

async function record(target, scenario) {
  const s = new Session(target);
  try {
    await scenario.run(s);
  } finally {
    await s.dispose();
  }
  return s.lines;
}

const exited = (server) => server.proc.exitCode !== null || server.proc.signalCode !== null;

/** Adds a line when the server died during the scenario (and restarts peercable so later scenarios run). */
async function checkAlive(server, lines, scenario, t) {
  if (!server || scenario.stopsServer || !exited(server)) return server;
  const how = server.proc.signalCode ?? `exit code ${server.proc.exitCode}`;
  lines.push(`!! ${server.name} DIED during this scenario (${how})`);
  t.diagnostic(`${server.name} died (${how}); last output:\n${server.logs().slice(-3000)}`);
  if (server.name !== "peercable") return server;
  const again = await startPeer();
  return typeof again === "object" ? again : null;
}

for (const scenario of SCENARIOS) {
  test(scenario.name, { timeout: 90000 }, async (t) => {
    if (!rails) return t.skip(railsSkip);
    const [railsLines, peerLines] = await Promise.all([
      record(rails, scenario),
      peer ? record(peer, scenario) : Promise.resolve(null),
    ]);
    rails = (await checkAlive(rails, railsLines, scenario, t)) ?? rails;
    if (peer) {
      peer = await checkAlive(peer, peerLines, scenario, t);
      if (!peer) peerSkip = "peercable died and did not restart";
    }
    for (const [name, lines] of [["rails", railsLines], ["peercable", peerLines]]) {
      if (lines) writeFileSync(join(outDir, `${slug(scenario.name)}.${name}.txt`), lines.join("\n") + "\n");
    }

    await t.test("Rails matches the recorded reference transcript", () => {
      if (updateReference) {
        reference[scenario.name] = railsLines;
        return;
      }
      // A scenario without a reviewed reference fails: recording one silently would check nothing.
      assert.ok(reference[scenario.name],
        `no recorded Rails reference for "${scenario.name}": review its transcript, then run with UPDATE_RAILS_TRANSCRIPTS=1`);
      assert.deepEqual(railsLines, reference[scenario.name]);
    });

    await t.test("peercable matches Rails (after intended differences)", (tt) => {
      if (!peerLines) return tt.skip(peerSkip);
      const r = normalize(scenario.name, "rails", railsLines);
      const p = normalize(scenario.name, "peercable", peerLines);
      for (const id of [...r.applied, ...p.applied]) shownDifferences.add(id);
      if (r.applied.length || p.applied.length) tt.diagnostic(`intended differences applied: ${[...new Set([...r.applied, ...p.applied])].join(", ")}`);
      const problems = verifyPeercable(scenario.name, peerLines);
      assert.deepEqual(p.lines, r.lines,
        `peercable differs from Rails in "${scenario.name}" (transcripts in ${outDir}/${slug(scenario.name)}.*.txt)` +
        (problems.length ? `; also: ${problems.join("; ")}` : ""));
      assert.deepEqual(problems, [], "peercable does not do what differences.mjs says");
    });
  });
}

test("every listed intended difference still shows up", (t) => {
  if (!rails || !peer) return t.skip("needs both servers");
  const stale = DIFFERENCES.filter((d) => d.mustShowIn && !shownDifferences.has(d.id)).map((d) => d.id);
  assert.deepEqual(stale, [], "these differences did not appear; update differences.mjs and DIFFERENCES.md");
});
