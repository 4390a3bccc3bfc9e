// End-to-end encryption of direct messages: one ECDH P-256 key pair per browser (the private key is not
// extractable and lives in IndexedDB, so it survives reloads), a key per pair of people derived with HKDF,
// AES-256-GCM for each message, and a short safety number both people can compare.

const DB_NAME = "peercable-e2e";
const STORE = "keys";
const PINNED_KEY = "peercable.pinnedKeys";
// The body the server relays: "e2e1.<iv base64>.<ciphertext base64>".
export const CIPHER_PREFIX = "e2e1.";
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = new TextEncoder();
const text = new TextDecoder();

function b64(bytes) {
  let s = "";
  const view = new Uint8Array(bytes);
  for (let i = 0; i < view.length; i += 0x8000) s += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(s);
}

function unb64(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/** The largest plaintext, in UTF-8 bytes, whose encrypted body still fits `bodyLimit` bytes. */
export function maxPlaintextBytes(bodyLimit) {
  const overhead = CIPHER_PREFIX.length + Math.ceil(IV_BYTES / 3) * 4 + 1;
  return Math.floor((bodyLimit - overhead) / 4) * 3 - TAG_BYTES;
}

/** Whether a direct message body is one of ours, encrypted. */
export function isCiphertext(body) {
  return typeof body === "string" && body.startsWith(CIPHER_PREFIX);
}

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function dbRequest(db, mode, run) {
  return new Promise((resolve, reject) => {
    const request = run(db.transaction(STORE, mode).objectStore(STORE));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** This browser's key pair, created on first use: { privateKey, publicJwk, publicRaw }. */
export async function loadIdentity() {
  const db = await openDb();
  try {
    let pair = await dbRequest(db, "readonly", (s) => s.get("identity"));
    if (!pair) {
      // extractable=false applies to the private key; a public key can always be exported.
      const keys = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
      pair = { privateKey: keys.privateKey, publicKey: keys.publicKey };
      await dbRequest(db, "readwrite", (s) => s.put(pair, "identity"));
    }
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
    const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    return { privateKey: pair.privateKey, publicJwk, publicRaw };
  } finally {
    db.close();
  }
}

/** Imports a peer's public key from the JWK it sent; rejects anything but an EC P-256 public key. */
export async function importPeerKey(jwk) {
  if (!jwk || jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.x !== "string" || typeof jwk.y !== "string") {
    throw new Error("not a P-256 public key");
  }
  const key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true },
    { name: "ECDH", namedCurve: "P-256" }, true, []);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", key));
  return { key, raw, id: await keyId(raw) };
}

async function keyId(raw) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return b64(digest.subarray(0, 12));
}

/**
 * The safety number of two public keys: the same on both sides (the keys are sorted), 15 digits in three
 * groups. Two people who read out the same number hold each other's real keys.
 */
export async function safetyNumber(rawA, rawB) {
  const [first, second] = b64(rawA) < b64(rawB) ? [rawA, rawB] : [rawB, rawA];
  const both = new Uint8Array(first.length + second.length);
  both.set(first);
  both.set(second, first.length);
  const digest = new DataView(await crypto.subtle.digest("SHA-256", both));
  const groups = [0, 4, 8].map((at) => String(digest.getUint32(at) % 100000).padStart(5, "0"));
  return groups.join(" ");
}

/** The AES-GCM key two people share: ECDH, then HKDF-SHA-256 bound to both user ids. */
export async function pairKey(privateKey, peerPublicKey, idA, idB) {
  const secret = await crypto.subtle.deriveBits({ name: "ECDH", public: peerPublicKey }, privateKey, 256);
  const hkdf = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
  const info = utf8.encode(`peercable direct message v1 ${[idA, idB].sort().join(" ")}`);
  return crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: utf8.encode("peercable-e2e"), info },
    hkdf, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

/** Encrypts `plaintext` from `from` to `to`; the ids are authenticated, so a relabelled message fails. */
export async function encryptMessage(key, plaintext, from, to) {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: utf8.encode(`${from}>${to}`) },
    key, utf8.encode(plaintext));
  return `${CIPHER_PREFIX}${b64(iv)}.${b64(sealed)}`;
}

/** Decrypts a body made by encryptMessage; rejects when the key, the ids or the bytes do not match. */
export async function decryptMessage(key, body, from, to) {
  const [iv, sealed] = body.slice(CIPHER_PREFIX.length).split(".");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: unb64(iv), additionalData: utf8.encode(`${from}>${to}`) }, key, unb64(sealed));
  return text.decode(plain);
}

/** The key id this browser last trusted for `userId`, or null. */
export function pinnedKey(userId) {
  try {
    return JSON.parse(localStorage.getItem(PINNED_KEY) || "{}")[userId] ?? null;
  } catch {
    return null;
  }
}

/** Trusts key `id` for `userId` from now on. */
export function pinKey(userId, id) {
  let all = {};
  try {
    all = JSON.parse(localStorage.getItem(PINNED_KEY) || "{}") || {};
  } catch {}
  all[userId] = id;
  localStorage.setItem(PINNED_KEY, JSON.stringify(all));
}
