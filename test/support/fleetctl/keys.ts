// Public keys as a roster holds them, for tests of the roster on the control machine.

import { generateKeyPairSync } from "node:crypto";
import { rawPublicKey } from "../../../node/src/trust/keys.js";

/** A fresh Ed25519 public key as `fleet-node identity` prints it: the raw 32 bytes in base64. */
export function publicKeyB64(): string {
  return Buffer.from(rawPublicKey(generateKeyPairSync("ed25519").publicKey)).toString("base64");
}
