// The decisions of "perfect negotiation" (W3C WebRTC 1.0, section 10.7), kept pure so they can be tested
// without a browser: who yields when both people send an offer at once, and which signals start afresh.

/** The polite peer yields on glare. Both sides compute it from the same two ids, so exactly one is polite. */
export function isPolite(myId, peerId) {
  return String(myId) > String(peerId);
}

/**
 * Whether an incoming offer collides with our own negotiation and must be ignored: only the impolite peer
 * ignores; the polite one rolls back (setRemoteDescription does that implicitly) and answers.
 */
export function shouldIgnoreOffer({ polite, type, makingOffer, signalingState, settingRemoteAnswer }) {
  if (type !== "offer") return false;
  const ready = !makingOffer && (signalingState === "stable" || settingRemoteAnswer);
  return !polite && !ready;
}

/**
 * What to do with a signal carrying the sender's connection id `sid`, given the id we know for the current
 * connection (null: none yet): "use" it, or "replace" the connection (the other side reloaded or reconnected
 * and started a new one; the old one can never recover).
 */
export function signalRoute(knownSid, sid) {
  if (!knownSid || knownSid === sid) return "use";
  return "replace";
}
