// Intended differences between peercable and Rails 6.1 Action Cable, as data. The conformance suite applies
// each entry's rewrite rules before it compares a transcript, and checks that the difference still shows;
// DIFFERENCES.md is generated from this list (`node tests/conformance/differences.mjs > tests/conformance/DIFFERENCES.md`).
//
// A rule { match, replace } rewrites one transcript line: replace null drops the line, a string replaces it;
// with onlyRepeat it applies only to a line identical to the line kept just before it.
// `peercableRules` turn what peercable sends into what Rails sends; `railsRules` remove Rails artefacts.
// status "intended": the contract, DESIGN.md or the server's own code says peercable does this on purpose;
// "proposed": harmless in the test author's judgement, waiting for the lead to confirm or fix.

const P2P_EXTRA = /<- \{"identifier":".*","message":\{"type":"(presence|history|presence_diff)"/;

export const DIFFERENCES = [
  {
    id: "p2p-presence-history",
    scenarios: "*",
    what: "P2PChannel subscription: presence list, chat history, presence diffs",
    rails: "The reference app sends only confirm_subscription; it keeps no presence or history.",
    peercable: 'Right after confirm_subscription the new subscription gets {"type":"presence","room","users"} and then {"type":"history","room","messages"}; the room gets {"type":"presence_diff","room","count","joined","left"} (arrivals and departures gathered per --presence-window).',
    status: "intended",
    why: "Presence and persistent history are peercable features the seed asked for; Rails has no built-in equivalent. They are ordinary broadcasts on the subscription's identifier, so clients that don't know them ignore them.",
    peercableRules: [{ match: P2P_EXTRA, replace: null }],
    mustShowIn: ["subscribe, confirm, speak, direct to self"],
    // Checks the peercable side really does what this entry says: presence then history right after
    // every P2PChannel confirmation (a presence diff may come in between).
    verifyPeercable(lines) {
      for (let i = 0; i < lines.length; i++) {
        const m = /^(\S+) <- \{"identifier":("(?:[^"\\]|\\.)*"),"type":"confirm_subscription"\}$/.exec(lines[i]);
        if (!m || !JSON.parse(m[2]).includes("P2PChannel")) continue;
        const mine = lines.slice(i + 1).filter((l) => l.startsWith(`${m[1]} <- {"identifier":${m[2]},"message":`) && !/"message":\{"type":"presence_diff"/.test(l));
        if (!/"message":\{"type":"presence","room":/.test(mine[0] ?? "") || !/"message":\{"type":"history","room":/.test(mine[1] ?? "")) {
          return `after ${lines[i]} expected presence then history, got: ${JSON.stringify(mine.slice(0, 2))}`;
        }
      }
      return null;
    },
  },
  {
    id: "shutdown-server-restart",
    scenarios: ["server shutdown (SIGTERM) with a subscribed client"],
    what: "Server shutdown (SIGTERM) with connected clients",
    rails: "puma drops the TCP connections: no disconnect message, no close frame (the client sees 1006).",
    peercable: 'Sends {"type":"disconnect","reason":"server_restart","reconnect":true} and a close frame before exiting.',
    status: "intended",
    why: "An explicit, clean goodbye instead of a TCP drop, the message Rails' own ActionCable.server.restart sends: the client logs the reason and keeps its monitor running (reconnect: true). When it reconnects is still up to the client's ConnectionMonitor (stale after 6 s without a ping), as after a drop.",
    peercableRules: [
      { match: /^alice <- \{"type":"disconnect","reason":"server_restart","reconnect":true\}$/, replace: null },
      { match: /^alice <- CLOSE \d+ .*$/, replace: 'alice <- CLOSE 1006 ""' },
    ],
    mustShowIn: ["server shutdown (SIGTERM) with a subscribed client"],
  },
  {
    id: "unknown-action-error",
    scenarios: ["unknown or missing command, bad identifier, bad data, unknown action (§6)", "action named after a callback (subscribed) (§6)"],
    what: "A message to a P2PChannel subscription whose action does not exist (or is missing, which Rails maps to `receive`)",
    rails: 'Logs "Unable to process P2PChannel#no_such_action" and sends nothing.',
    peercable: 'Sends {"type":"error","code":"unknown_action","message":…} on that subscription. BenchmarkChannel stays silent, as in Rails.',
    status: "intended",
    why: "P2PChannel reports every invalid input on the subscription (see src/channels/p2p_channel.cpp); a silent drop leaves a chat client guessing.",
    peercableRules: [{ match: /^alice <- \{"identifier":.*"message":\{"type":"error","code":"unknown_action","message":"<text>"\}\}$/, replace: null }],
    mustShowIn: ["unknown or missing command, bad identifier, bad data, unknown action (§6)"],
  },
  {
    id: "callback-as-action",
    scenarios: ["action named after a callback (subscribed) (§6)"],
    what: 'A message with {"action":"subscribed"} (or "unsubscribed") on a P2PChannel subscription',
    rails: "Runs the public subscribed callback again (nothing is sent), which adds the room and user streams a second time: from then on every broadcast reaches that subscription twice. \"unsubscribed\" runs the callback but stops no stream.",
    peercable: "Callbacks are not actions: treated like any unknown action (see unknown-action-error); later broadcasts arrive once.",
    status: "proposed",
    why: "Doubling deliveries is an accident of Rails' rule that every public method of a channel is an action, not behaviour a client can rely on.",
    railsRules: [{ match: /^alice <- \{"identifier":.*"message":\{"type":"message",.*"body":"how many copies\?"/, replace: null, onlyRepeat: true }],
    mustShowIn: ["action named after a callback (subscribed) (§6)"],
  },
  {
    id: "application-cable-channel",
    scenarios: ["ApplicationCable::Channel is subscribable in Rails (§7)"],
    what: 'Subscribing to {"channel":"ApplicationCable::Channel"}',
    rails: "Confirmed: Rails subscribes to any ActionCable::Channel::Base subclass, including the app's abstract base class.",
    peercable: "Treated like any unknown channel: ignored, nothing sent.",
    status: "proposed",
    why: "The abstract base class is a Rails implementation artefact, not a channel; peercable only has the channels it defines.",
    railsRules: [{ match: /^alice <- \{"identifier":"\{\\"channel\\":\\"ApplicationCable::Channel\\"\}","type":"confirm_subscription"\}$/, replace: null }],
  },
  {
    id: "permessage-deflate",
    scenarios: ["client offers permessage-deflate"],
    what: "Client offers permessage-deflate (browsers and node ws do by default)",
    rails: "Never negotiates an extension; every frame is uncompressed.",
    peercable: "Negotiates permessage-deflate (RFC 7692) and compresses larger frames; --deflate false turns it off and then the handshake is identical to Rails'.",
    status: "intended",
    why: "DESIGN.md lists RFC 7692 in the WebSocket layer; compression is invisible to Action Cable clients (the browser or ws inflates) and saves bandwidth.",
    peercableRules: [{ match: /^negotiated extensions: "permessage-deflate.*"$/, replace: 'negotiated extensions: ""' }],
    mustShowIn: ["client offers permessage-deflate"],
  },
  {
    id: "numbers-out-of-range",
    scenarios: ["BenchmarkChannel echo: duplicate keys, integers beyond 64 bits, overflowing floats"],
    what: "A number in the data that fits neither a 64-bit integer nor a finite double (123456789012345678901234567890, 1e400)",
    rails: 'Ruby parses a Bignum and echoes it unchanged; 1e400 becomes Infinity and is echoed as null.',
    peercable: "The data is not valid JSON to peercable's parser (simdjson checks number ranges); the message is ignored, as Rails ignores invalid JSON.",
    status: "intended",
    why: "Refusing such a number is safer than altering it (1e400 silently turning into null loses data); no JavaScript client can produce either value from a Number.",
    railsRules: [
      { match: /^alice <- \{"identifier":.*"message":\{"action":"echo","huge":123456789012345678901234567890\}\}$/, replace: null },
      { match: /^alice <- \{"identifier":.*"message":\{"action":"echo","inf":null\}\}$/, replace: null },
    ],
    mustShowIn: ["BenchmarkChannel echo: duplicate keys, integers beyond 64 bits, overflowing floats"],
  },
  {
    id: "not-found-body",
    scenarios: ["upgrade on a wrong path"],
    what: "Any request (upgrade or not) to a path that peercable does not serve",
    rails: "404 with Content-Type text/html; charset=UTF-8 and an empty body (Rails routing, no public/404.html).",
    peercable: '404 with a JSON body {"error":"not found"}.',
    status: "proposed",
    why: "Same status; the client's handshake fails the same way. The JSON body matches peercable's other HTTP errors.",
    peercableRules: [
      { match: /^alice !! unexpected-response 404 body=.*$/, replace: 'alice !! unexpected-response 404 body=""' },
      { match: /^\[body\] .*$/, replace: '[body] ""' },
    ],
  },
];

/** Problems with the peercable side of the listed differences (entries with verifyPeercable), as strings. */
export function verifyPeercable(scenario, lines) {
  return DIFFERENCES.filter((d) => d.verifyPeercable && (d.scenarios === "*" || d.scenarios.includes(scenario)))
    .map((d) => d.verifyPeercable(lines))
    .filter(Boolean);
}

/** Applies the rules of every difference that covers `scenario` to `lines` of `server` ("rails"|"peercable"). */
export function normalize(scenario, server, lines) {
  let out = lines;
  const applied = [];
  for (const d of DIFFERENCES) {
    if (d.scenarios !== "*" && !d.scenarios.includes(scenario)) continue;
    const rules = server === "rails" ? d.railsRules : d.peercableRules;
    if (!rules) continue;
    let hit = false;
    const kept = [];
    for (const line of out) {
      const r = rules.find((rule) => rule.match.test(line) && (!rule.onlyRepeat || kept[kept.length - 1] === line));
      if (!r) kept.push(line);
      else {
        hit = true;
        if (r.replace !== null) kept.push(r.replace);
      }
    }
    out = kept;
    if (hit) applied.push(d.id);
  }
  return { lines: out, applied };
}

/** The list as Markdown, for tests/conformance/DIFFERENCES.md and docs/protocol.md. */
export function toMarkdown() {
  const rows = DIFFERENCES.map((d) => `## ${d.what}\n\n- **id**: \`${d.id}\`\n- **scenario**: ${d.scenarios === "*" ? "every scenario with a P2PChannel subscription" : d.scenarios.map((s) => `"${s}"`).join(", ")}\n- **status**: ${d.status}\n- **Rails 6.1**: ${d.rails}\n- **peercable**: ${d.peercable}\n- **why**: ${d.why}\n`);
  return `# Intended differences between peercable and Rails 6.1 Action Cable\n\nGenerated from \`tests/conformance/differences.mjs\`, the list the conformance suite applies before comparing\ntranscripts (\`node tests/conformance/differences.mjs > tests/conformance/DIFFERENCES.md\`). Anything not listed\nhere must be identical, frame for frame, to what Rails sends.\n\n${rows.join("\n")}`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(toMarkdown());
