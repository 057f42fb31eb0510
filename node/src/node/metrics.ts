// Every metric the node exports, named as docs/contracts.md's table (dashboards and alert rules in
// grafana/ and prometheus/ use these names: add, never rename). Overlay counters live in-process in
// `overlay.stats`; the counters here copy them at scrape time, so there is one source of truth.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Reasons a delta is rejected; every one exists at 0 from start-up. */
export const REJECT_REASONS = ["sha", "decode", "shape", "duplicate", "stale", "bounds", "gave_up"] as const;
/** Reasons a datagram is dropped; every one exists at 0 from start-up (others appear when seen). */
export const DROP_REASONS = [
  "malformed", "crc", "own", "unknown_type", "oversize", "empty", "not_utf8", "version", "no_src", "bad_src",
  "bad_number", "bad_ver", "bad_base64", "bad_sha", "idx_range", "nak_range",
] as const;

/** What the metrics read at scrape time. Plain numbers and records: no engine or socket types. */
export interface MetricsSource {
  /** The overlay's counters object, or undefined before the overlay started. */
  overlayStats(): object | undefined;
  peers(): number;
  transfersInFlight(): number;
  appliedDeltas(): number;
  model(): { node: string; fingerprint: string; digest: string } | undefined;
}

type Stats = Record<string, unknown>;

// The overlay's field names for each counter; the first present is used (one spelling per counter
// in practice, the alternatives keep the metrics honest if a field is renamed).
const FIELDS: Record<string, string[]> = {
  fragments_sent: ["fragmentsSent", "chunksSent", "fragments_sent"],
  fragments_received: ["fragmentsReceived", "chunksReceived", "fragments_received"],
  retransmits: ["retransmits", "resent", "chunksResent"],
  tail_repeats: ["tailRepeats"],
  repairs_skipped: ["repairsSkipped"],
  repair_markers: ["repairMarkers"],
  naks_sent: ["naksSent", "naks_sent"],
  naks_received: ["naksReceived", "naks_received"],
  deltas_announced: ["deltasAnnounced", "announced", "metasSent"],
  deltas_completed: ["deltasCompleted", "completed"],
  bytes_sent: ["bytesSent", "bytes_sent"],
  bytes_received: ["bytesReceived", "bytes_received"],
};
const REJECT_FIELDS = ["deltasRejected", "rejected", "rejects"];
const DROP_FIELDS = ["datagramsDropped", "dropped", "drops"];

export function statNumber(stats: Stats | undefined, key: string): number {
  if (!stats) return 0;
  for (const f of FIELDS[key] ?? [key]) {
    const v = stats[f];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return 0;
}

export function statRecord(stats: Stats | undefined, fields: string[]): Record<string, number> {
  if (!stats) return {};
  for (const f of fields) {
    const v = stats[f];
    if (v instanceof Map) return Object.fromEntries([...v].filter(([, n]) => typeof n === "number")) as Record<string, number>;
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).filter(([, n]) => typeof n === "number")) as Record<string, number>;
    }
  }
  return {};
}

export interface NodeMetrics {
  registry: Registry;
  teaches: Counter;
  merged: Counter;
  deliveryLatency: Histogram;
  mergeDuration: Histogram;
  trainDuration: Histogram;
  trainLoss: Gauge;
  lastMergeTimestamp: Gauge;
  text(): Promise<string>;
}

export function createMetrics(source: MetricsSource, opts: { defaults?: boolean } = {}): NodeMetrics {
  const registry = new Registry();
  if (opts.defaults !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges *_total, which `promtool check metrics` rejects (a _total
    // suffix promises a counter). nodejs_active_handles/_requests/_resources, by type, remain.
    for (const n of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) registry.removeSingleMetric(n);
  }
  const stats = (): Stats | undefined => source.overlayStats() as Stats | undefined;

  const mirror = (key: string, help: string): Counter =>
    new Counter({
      name: `fleet_${key}_total`, help, registers: [registry],
      collect() { this.reset(); this.inc(statNumber(stats(), key)); },
    });
  mirror("fragments_sent", "Delta fragments (chunks) sent for the first time.");
  mirror("fragments_received", "Delta fragments received, including duplicates.");
  mirror("retransmits", "Fragments sent again in answer to a NAK (repair).");
  // The rest of the repair traffic, so wire bytes beyond fragments + retransmits are accounted for.
  mirror("tail_repeats", "Second copies of a transfer's last fragment, sent so a lost tail is noticed at once.");
  mirror("repairs_skipped", "NAKed fragments not resent because the NAK crossed a copy already on its way.");
  mirror("repair_markers", "REPAIRED datagrams listing which fragments a batch of resends held.");
  mirror("naks_sent", "CHUNK_NAK packets sent asking a sender for missing fragments.");
  mirror("naks_received", "CHUNK_NAK packets received from peers.");
  mirror("deltas_announced", "Deltas this node announced (MODEL_META sent for a new version).");
  mirror("deltas_completed", "Deltas received whole with a matching sha256.");
  mirror("bytes_sent", "UDP payload bytes sent.");
  mirror("bytes_received", "UDP payload bytes received.");

  new Counter({
    name: "fleet_deltas_rejected_total", help: "Deltas not merged, by reason.", labelNames: ["reason"], registers: [registry],
    collect() {
      // The overlay counts every reason, including decode/shape that onDelta's DeltaError carries.
      const counts = statRecord(stats(), REJECT_FIELDS);
      this.reset();
      for (const r of new Set([...REJECT_REASONS, ...Object.keys(counts)])) this.labels(r).inc(counts[r] ?? 0);
    },
  });
  new Counter({
    name: "fleet_datagrams_dropped_total", help: "Datagrams dropped on receipt, by reason.", labelNames: ["reason"], registers: [registry],
    collect() {
      const counts = statRecord(stats(), DROP_FIELDS);
      this.reset();
      for (const r of new Set([...DROP_REASONS, ...Object.keys(counts)])) this.labels(r).inc(counts[r] ?? 0);
    },
  });
  new Gauge({ name: "fleet_peers", help: "Peers currently known (heard from recently).", registers: [registry], collect() { this.set(source.peers()); } });
  new Gauge({ name: "fleet_transfers_in_flight", help: "Delta transfers being received.", registers: [registry], collect() { this.set(source.transfersInFlight()); } });
  new Gauge({ name: "fleet_applied_deltas", help: "Delta versions applied to this node's weights (taught or merged).", registers: [registry], collect() { this.set(source.appliedDeltas()); } });
  new Gauge({
    name: "fleet_model_info", help: "The model this node holds: 1, labelled with its fingerprint and the digest of its current weights.",
    labelNames: ["node", "fingerprint", "digest"], registers: [registry],
    collect() {
      this.reset();
      const m = source.model();
      if (m) this.labels(m.node, m.fingerprint, m.digest).set(1);
    },
  });

  const m: NodeMetrics = {
    registry,
    teaches: new Counter({ name: "fleet_teaches_total", help: "Corrections taught on this node (fine-tune + broadcast).", registers: [registry] }),
    merged: new Counter({ name: "fleet_deltas_merged_total", help: "Received deltas merged into the weights.", registers: [registry] }),
    deliveryLatency: new Histogram({
      name: "fleet_delivery_latency_seconds", help: "From a delta's MODEL_META seen to the delta merged.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [registry],
    }),
    mergeDuration: new Histogram({
      name: "fleet_merge_duration_seconds", help: "Time to merge a verified delta into the weights and save them.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
    }),
    trainDuration: new Histogram({
      name: "fleet_train_duration_seconds", help: "Time to fine-tune on a correction and build its delta.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
    }),
    trainLoss: new Gauge({ name: "fleet_train_loss", help: "Training loss at the last step of the last teach.", registers: [registry] }),
    lastMergeTimestamp: new Gauge({ name: "fleet_last_merge_timestamp_seconds", help: "Unix time of the last merge (or teach) that changed the weights.", registers: [registry] }),
    text: () => registry.metrics(),
  };
  return m;
}
