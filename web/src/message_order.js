// Where a message goes in the shown list: pure, so the unit tests run it outside a browser.

/**
 * Whether message `a` belongs after message `b`, given as `{ sentAt, messageId }` (the list items' data
 * attributes): by send time, then, for two messages of the same millisecond from one server (ids
 * "<node>-<counter>"), by the counter. A history replay and a live delivery can interleave: this keeps the
 * list in the order the server made the messages.
 */
export function comesAfter(a, b) {
  const [ta, tb] = [Number(a.sentAt), Number(b.sentAt)];
  if (ta !== tb) return ta > tb;
  const [na, ca] = String(a.messageId).split("-");
  const [nb, cb] = String(b.messageId).split("-");
  return na === nb && Number(ca) > Number(cb);
}
