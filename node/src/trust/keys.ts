// A node's identity: an Ed25519 key pair whose private half never leaves its state folder. The
// public half, as 32 raw bytes in base64, is what a roster line names (like an authorized_keys
// line), so operators copy one short token per node and nothing else.
//
// The private key is kept as PKCS#8 PEM (what `openssl pkey` reads), mode 0600 from its creation,
// written atomically. A key file that exists but cannot be read as an Ed25519 key is an error, never
// replaced: a new key would silently un-enrol the node from every roster that lists the old one.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";

export const IDENTITY_FILE = "identity.key";
/** Ed25519 public and private keys are 32 raw bytes; signatures 64 (RFC 8032 §5.1.5, §5.1.6). */
export const KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

// DER headers of the two standard containers around the raw 32 bytes (RFC 8410 §4, §7): the raw key
// is their tail, so import and export need no parser.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export class IdentityError extends Error {}

export interface Identity {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The roster's form of the public key: base64 of its 32 raw bytes. */
  publicB64: string;
  /** Whether this call created the key file. */
  created: boolean;
  file: string;
}

/** The 32 raw bytes of an Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(der.length - KEY_BYTES));
}

/** A public key from its 32 raw bytes (a roster line's key, decoded). */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== KEY_BYTES) throw new IdentityError(`an Ed25519 public key is ${KEY_BYTES} bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

/** A private key from its 32-byte seed (RFC 8032's "secret key"); for test vectors and tools. */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== KEY_BYTES) throw new IdentityError(`an Ed25519 secret key is ${KEY_BYTES} bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

function identityOf(privateKey: KeyObject, file: string, created: boolean): Identity {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicB64: Buffer.from(rawPublicKey(publicKey)).toString("base64"), created, file };
}

/** The identity kept in `stateDir`, created there (with the folder) when it has none. */
export function loadOrCreateIdentity(stateDir: string): Identity {
  const file = join(stateDir, IDENTITY_FILE);
  if (existsSync(file)) return loadIdentity(file);
  mkdirSync(stateDir, { recursive: true });
  const { privateKey } = generateKeyPairSync("ed25519");
  writeFileAtomic(file, privateKey.export({ format: "pem", type: "pkcs8" }) as string, 0o600);
  return identityOf(privateKey, file, true);
}

export function loadIdentity(file: string): Identity {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch (e) {
    throw new IdentityError(`${file} is not a private key (${(e as Error).message}); move it away to create a new identity, then enrol that one`);
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new IdentityError(`${file} holds a ${key.asymmetricKeyType ?? "unknown"} key, not Ed25519; move it away to create a new identity, then enrol that one`);
  }
  return identityOf(key, file, false);
}

/** The roster line that enrols this identity: `<node-id> <base64 key>`. */
export function rosterLine(nodeId: string, identity: Pick<Identity, "publicB64">): string {
  return `${nodeId} ${identity.publicB64}`;
}
