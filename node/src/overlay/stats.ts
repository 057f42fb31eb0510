// The overlay's counters: a plain object tests assert on and node/src/node/metrics.ts wraps
// (fleet_* names in docs/contracts.md). Reasons are closed lists: every one exists at 0 from the
// start, metrics export exactly these label values, and counting an unlisted one does not compile.

import { DECODE_FAILURES } from "./codec.js";

/**
 * Why a delta was not merged. The receiver's verdicts; the engine's "decode" and "shape"
 * (engine/delta.ts DeltaRejectReason, which the node checks against this list at compile time);
 * the fleet log's "base" (an entry made on another base model) and "write" (it could not be saved:
 * the weights are unchanged and it is fetched again); the node's "untrusted" (its trust gate refused
 * the entry: fleet_entries_refused_total says why); "error" for any other failure onDelta reports.
 */
export const REJECT_REASONS = ["sha", "decode", "shape", "duplicate", "stale", "bounds", "gave_up", "base", "write", "untrusted", "error"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Why a datagram was dropped on receipt: decode() refused it, or the overlay had no use for it. */
export const DROP_REASONS = [
  ...DECODE_FAILURES,
  // overlay.ts
  "own", "internal_error",
  // receiver.ts: a finished or applied version, a forged sender, bounds, a transfer that contradicts itself
  "late", "applied", "forged_src", "bounds", "source_full", "transfers_full", "in_flight_full", "untrusted_full",
  "total_changed", "meta_changed", "duplicate",
  // receiver.ts: a repair symbol for no open transfer
  "repair_unknown",
  // sender.ts: a NAK for a version no longer held
  "nak_unknown_version",
  // discovery.ts: a NAK from a SRC never heard before (repair is for peers only)
  "nak_unknown_peer",
  // overlay.ts: a CONTROL from a SRC that is not a DeltaFleet peer heard before; a payload nobody takes
  "control_unknown_peer", "payload_unwanted",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** onDelta's reason for a rejection, as counted: one of REJECT_REASONS, else "error" (labels stay bounded). */
export function rejectReason(reason: unknown): RejectReason {
  return (REJECT_REASONS as readonly unknown[]).includes(reason) ? (reason as RejectReason) : "error";
}

export interface OverlayStats {
  datagramsSent: number;
  datagramsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  fragmentsSent: number;        // MODEL_CHUNK datagrams sent the first time (per destination)
  fragmentsReceived: number;    // MODEL_CHUNK datagrams that decoded (duplicates included)
  retransmits: number;          // MODEL_CHUNK datagrams resent in answer to a NAK
  tailRepeats: number;          // second copies of a binary transfer's last chunk (lost tails show fast)
  repairsSkipped: number;       // NAKed chunks not resent: the NAK crossed a copy on its way
  repairMarkers: number;        // REPAIRED datagrams (which chunks a batch of resends held)
  repairSymbols: number;        // coded repair: parity symbols sent (one fills a different hole at each receiver)
  repairSymbolsReceived: number;
  chunksRecovered: number;      // chunks decoded from repair symbols
  naksSent: number;             // CHUNK_NAK datagrams
  naksReceived: number;
  deltasAnnounced: number;
  deltasCompleted: number;      // reassembled and sha256-verified, handed to onDelta
  deltasApplied: number;        // onDelta resolved
  payloadsSent: number;         // DeltaFleet-only transfers started (sendPayload)
  payloadsDelivered: number;    // DeltaFleet-only transfers reassembled, verified, handed to onPayload
  controlsSent: number;
  controlsReceived: number;
  deltasRejected: Record<RejectReason, number>;
  datagramsDropped: Record<DropReason, number>;
  transfersGaveUp: number;
  /** Open transfers closed to make room for another (untrusted: from the small pool). */
  transfersEvicted: Record<"trusted" | "untrusted", number>;
  sendErrors: number;
  peersRefused: number;         // packets from a new SRC while the peer table (or its source's share) was full
  addressesIgnored: number;     // Sprint 6.2 PEER_SYNCs naming another host than the one they came from
  repairsRefused: number;       // NAKed chunks not resent: the asker's repair budget was spent
}

export function newStats(): OverlayStats {
  return {
    datagramsSent: 0, datagramsReceived: 0, bytesSent: 0, bytesReceived: 0,
    fragmentsSent: 0, fragmentsReceived: 0, retransmits: 0, tailRepeats: 0, repairsSkipped: 0, repairMarkers: 0, repairSymbols: 0, repairSymbolsReceived: 0, chunksRecovered: 0, naksSent: 0, naksReceived: 0,
    deltasAnnounced: 0, deltasCompleted: 0, deltasApplied: 0, payloadsSent: 0, payloadsDelivered: 0, controlsSent: 0, controlsReceived: 0,
    deltasRejected: zeros(REJECT_REASONS),
    datagramsDropped: zeros(DROP_REASONS),
    transfersGaveUp: 0, transfersEvicted: { trusted: 0, untrusted: 0 }, sendErrors: 0, peersRefused: 0, addressesIgnored: 0, repairsRefused: 0,
  };
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

/** Counts one more `key`; the key's type comes from the record, so only its listed reasons compile. */
export function bump<K extends string>(rec: Record<K, number>, key: NoInfer<K>, by = 1): void {
  rec[key] += by;
}
