// The identity of a base model: what every entry names as the weights its delta was made on, and
// what a checkpoint is a sum over. It is a hash of the weights themselves (config and the flat
// fp32 buffer), not of a file: the same model saved as .pt or .safetensors, or re-saved by a node,
// is the same base. The flat buffer is hashed as little-endian fp32, which is how every platform
// we run on (amd64, arm64) holds it.

import { createHash } from "node:crypto";
import type { Params } from "../engine/params.js";

/** `w1-` and the first 32 hex digits (128 bits) of sha256(config JSON, 0x00, weights). */
export function baseIdentity(params: Params): string {
  const c = params.config;
  const config = JSON.stringify([c.vocab_size, c.n_positions, c.n_embd, c.n_layer, c.n_head, c.layer_norm_epsilon, c.tie_word_embeddings]);
  const h = createHash("sha256").update(config).update(Uint8Array.of(0));
  h.update(new Uint8Array(params.flat.buffer, params.flat.byteOffset, params.flat.byteLength));
  return `w1-${h.digest("hex").slice(0, 32)}`;
}
