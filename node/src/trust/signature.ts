// An entry's signature: Ed25519 over its canonical bytes (log/entry.ts encodeEntry), which say
// author, seq, sha256 of the delta file, kind, base and lesson. The delta itself is covered through
// its sha256 (a bundle whose delta does not hash to it is refused before anyone asks who signed), so
// signing costs the same for every delta size. The same entry always has the same bytes, so a
// replay under another transfer version carries the same name and signature: one entry, merged once.

import { sign, verify, type KeyObject } from "node:crypto";
import { encodeEntry, type Entry } from "../log/entry.js";
import { SIGNATURE_BYTES } from "./keys.js";

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The signature of `entry` by `privateKey`, base64 as a bundle carries it. */
export function signEntry(entry: Entry, privateKey: KeyObject): string {
  return sign(null, encodeEntry(entry), privateKey).toString("base64");
}

/** Whether `sig` (base64) is `publicKey`'s signature of `entry`; false for anything malformed. */
export function verifyEntry(entry: Entry, sig: string, publicKey: KeyObject): boolean {
  if (!BASE64.test(sig)) return false;
  const raw = Buffer.from(sig, "base64");
  if (raw.length !== SIGNATURE_BYTES) return false;
  try {
    return verify(null, encodeEntry(entry), publicKey, raw);
  } catch {
    return false;
  }
}
