// The overlay's counters: a plain object tests assert on and node/src/node/metrics.ts wraps
// (fleet_* names in docs/contracts.md). Reasons are open-ended strings, counted as they occur.

export type RejectReason = "sha" | "decode" | "shape" | "duplicate" | "stale" | "bounds" | "gave_up" | (string & {});

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
  naksSent: number;             // CHUNK_NAK datagrams
  naksReceived: number;
  deltasAnnounced: number;
  deltasCompleted: number;      // reassembled and sha256-verified, handed to onDelta
  deltasApplied: number;        // onDelta resolved
  deltasRejected: Record<string, number>;
  datagramsDropped: Record<string, number>;
  transfersGaveUp: number;
  sendErrors: number;
  peersRefused: number;         // packets from a new SRC while the peer table was full
}

export function newStats(): OverlayStats {
  return {
    datagramsSent: 0, datagramsReceived: 0, bytesSent: 0, bytesReceived: 0,
    fragmentsSent: 0, fragmentsReceived: 0, retransmits: 0, tailRepeats: 0, repairsSkipped: 0, repairMarkers: 0, naksSent: 0, naksReceived: 0,
    deltasAnnounced: 0, deltasCompleted: 0, deltasApplied: 0,
    deltasRejected: { sha: 0, decode: 0, shape: 0, duplicate: 0, stale: 0, bounds: 0, gave_up: 0 },
    datagramsDropped: { malformed: 0, crc: 0, own: 0, unknown_type: 0, oversize: 0 },
    transfersGaveUp: 0, sendErrors: 0, peersRefused: 0,
  };
}

export function bump(rec: Record<string, number>, key: string, by = 1): void {
  rec[key] = (rec[key] ?? 0) + by;
}
