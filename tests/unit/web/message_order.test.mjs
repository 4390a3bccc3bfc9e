// The order of the page's message list (web/src/message_order.js), outside a browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { comesAfter } from "../../../web/src/message_order.js";

/** Inserts like the controller: walk back from the end while the item there comes after the new one. */
function insert(list, item) {
  let i = list.length;
  while (i > 0 && comesAfter(list[i - 1], item)) i--;
  list.splice(i, 0, item);
}

test("messages of one millisecond keep the server's order, whatever order they arrive in", () => {
  const made = Array.from({ length: 20 }, (_, i) => ({ sentAt: String(1000 + Math.floor(i / 7)), messageId: `ab12-${i + 1}` }));
  // A replay of the later half arrives before the history of the earlier half, each in its own order.
  const arrival = [...made.slice(10), ...made.slice(0, 10)];
  const list = [];
  for (const m of arrival) insert(list, m);
  assert.deepEqual(list.map((m) => m.messageId), made.map((m) => m.messageId));
});

test("send time decides first; ids of two servers do not reorder one millisecond", () => {
  assert.equal(comesAfter({ sentAt: "2", messageId: "a-1" }, { sentAt: "1", messageId: "a-9" }), true);
  assert.equal(comesAfter({ sentAt: "1", messageId: "a-10" }, { sentAt: "1", messageId: "a-9" }), true);
  assert.equal(comesAfter({ sentAt: "1", messageId: "a-9" }, { sentAt: "1", messageId: "a-10" }), false);
  assert.equal(comesAfter({ sentAt: "1", messageId: "b-9" }, { sentAt: "1", messageId: "a-1" }), false);
});
