// An attacker on the fleet's LAN that speaks our overlay: it joins as a DeltaFleet node of its own
// (any SRC), and sends entry bundles it forged, re-signed with a key it stole, scaled, or replayed —
// what issue 11 tried against nodes that merged every valid-sha delta. The bundles go out as real
// overlay payloads (META kind=entry, chunks, NAK repair), so the nodes under attack reassemble them
// exactly as they would a teach.

import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Overlay } from "../../node/src/overlay/overlay.js";
import { encodeBundle } from "../../node/src/log/bundle.js";
import { decodeEntry, type Entry } from "../../node/src/log/entry.js";
import { signEntry } from "../../node/src/trust/signature.js";
import { sha256Hex } from "../../node/src/util/sha256.js";

export interface HeldEntry { entry: Entry; sig?: string; delta: Uint8Array }

/** An entry a node holds, as its state folder keeps it (entries/<name>.json and .delta): what a thief copies. */
export function readHeldEntry(stateDir: string, name: string): HeldEntry {
  const record = JSON.parse(readFileSync(join(stateDir, "entries", `${name}.json`), "utf8")) as { entry: unknown; sig?: string };
  const entry = decodeEntry(new TextEncoder().encode(JSON.stringify(record.entry)));
  if (typeof entry === "string") throw new Error(`${name}: ${entry}`);
  return { entry, ...(record.sig ? { sig: record.sig } : {}), delta: new Uint8Array(readFileSync(join(stateDir, "entries", `${name}.delta`))) };
}

/** A bundle for `delta` under `fields`, signed with `key` when given (the entry's sha256 is the delta's). */
export function forgeBundle(fields: Omit<Entry, "sha256">, delta: Uint8Array, key?: KeyObject): { bundle: Uint8Array; entry: Entry } {
  const entry: Entry = { ...fields, sha256: sha256Hex(delta) };
  const sig = key ? signEntry(entry, key) : undefined;
  return { bundle: encodeBundle({ entry, delta, ...(sig ? { sig } : {}) }), entry };
}

export class EntryAttacker {
  private constructor(private readonly overlay: Overlay) {}

  /** Joins as `id` on 127.0.0.1:`port`, with the nodes' UDP ports as static peers. */
  static async start(o: { id: string; port: number; peers: number[] }): Promise<EntryAttacker> {
    const overlay = await Overlay.start({
      nodeId: o.id, port: o.port, bindAddress: "127.0.0.1", broadcastAddress: "none", peers: o.peers.map((p) => `127.0.0.1:${p}`),
      timings: { binaryAfterMs: 0, syncIntervalMs: 500 },
    });
    return new EntryAttacker(overlay);
  }

  /** Waits until `ids` answered as DeltaFleet nodes (payloads go to those only). */
  async reach(ids: string[], timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!ids.every((id) => this.overlay.peers().some((p) => p.id === id && p.ours))) {
      if (Date.now() > end) throw new Error(`attacker: ${ids.join(", ")} not all heard within ${timeoutMs} ms (have ${this.overlay.peers().map((p) => p.id).join(", ")})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** One bundle to every node heard, as a new transfer; resolves with its transfer version. */
  async send(bundle: Uint8Array): Promise<string> {
    const sent = await this.overlay.sendPayload(bundle, { kind: "entry" });
    if (!sent.version) throw new Error("attacker: nobody to send to");
    return sent.version;
  }

  close(): Promise<void> {
    return this.overlay.close();
  }
}
