// Every metric the node exports, named as docs/contracts.md's table (dashboards and alert rules in
// grafana/ and prometheus/ use these names: add, never rename). Overlay counters live in-process in
// `overlay.stats`; the counters here copy them at scrape time, so there is one source of truth.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { DeltaRejectReason } from "../engine/delta.js";
import { HTTP_REFUSALS } from "./http-api.js";
import { DROP_REASONS, REJECT_REASONS, type OverlayStats, type RejectReason } from "../overlay/stats.js";
import { ADMISSIONS, REFUSALS, type Admission, type Refusal } from "../trust/admission.js";
import { RECALL_MAX_LESSONS } from "./recall.js";

/**
 * The engine rejects deltas for reasons of its own, which the overlay counts as it gets them from
 * onDelta: each must be one of REJECT_REASONS, or it would be counted as "error". A reason added to
 * engine/delta.ts and not to overlay/stats.ts fails to compile here.
 */
type Counted<R extends RejectReason> = R;
export type EngineRejectReason = Counted<DeltaRejectReason>;

/** What the metrics read at scrape time. Plain numbers and records: no engine or socket types. */
export interface MetricsSource {
  /** The overlay's counters, or undefined before the overlay started. */
  overlayStats(): OverlayStats | undefined;
  peers(): number;
  transfersInFlight(): number;
  appliedDeltas(): number;
  model(): { node: string; fingerprint: string; digest: string } | undefined;
  /** The fleet log as the node holds it on disk (runtime.logStatus()), undefined before start-up finished. */
  log?(): { entries: number; set: string; lacking: number; fetches: { index: number; entry: number }; fetchBytes: number } | undefined;
  /** The trust gate's counts (trust/gate.ts), undefined before start-up finished. */
  trust?(): { refused: Record<Refusal, number>; admitted: Record<Admission, number>; ignored: number } | undefined;
  /**
   * This node's recall of the fleet's lessons (recall.ts LessonRecall.counts): the newest pass
   * finished, never one waited for; undefined before the first.
   */
  recall?(): { digest: string; held: number; asked: number; recalled: number } | undefined;
}

/** A hex digest's first 48 bits (12 hex digits) as a number: exact in a float64, as Prometheus stores it. */
export function digestNumber(hex: string): number | undefined {
  const head = /^[0-9a-f]{1,12}/i.exec(hex);
  return head ? Number.parseInt(head[0], 16) : undefined;
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
  /** HTTP clients turned away, by reason (HTTP_REFUSALS): without the token, too slow, over the connection cap. */
  httpRefused: Counter<"reason">;
  /** Entries that could not be saved (ENOSPC, EMFILE, EIO): the weights stayed as they were. */
  stateWriteErrors: Counter;
  /** From first knowing a peer holds entries this node lacks to holding them all. */
  convergeSeconds: Histogram;
  /** Training jobs (train-job.ts), on the coordinator: each round's duration, who took part, who was left out, the loss. */
  jobRoundSeconds: Histogram;
  jobParticipants: Gauge;
  jobStragglers: Counter;
  jobLoss: Gauge;
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
  const mirror = (key: string, help: string, read: (s: OverlayStats) => number): Counter =>
    new Counter({
      name: `fleet_${key}_total`, help, registers: [registry],
      collect() { const s = source.overlayStats(); this.reset(); this.inc(s ? read(s) : 0); },
    });
  mirror("fragments_sent", "Delta fragments (chunks) sent for the first time.", (s) => s.fragmentsSent);
  mirror("fragments_received", "Delta fragments received, including duplicates.", (s) => s.fragmentsReceived);
  mirror("retransmits", "Fragments sent again in answer to a NAK (repair).", (s) => s.retransmits);
  // The rest of the repair traffic, so wire bytes beyond fragments + retransmits are accounted for.
  mirror("tail_repeats", "Second copies of a transfer's last fragment, sent so a lost tail is noticed at once.", (s) => s.tailRepeats);
  mirror("repairs_skipped", "NAKed fragments not resent because the NAK crossed a copy already on its way.", (s) => s.repairsSkipped);
  mirror("repair_markers", "REPAIRED datagrams listing which fragments a batch of resends held.", (s) => s.repairMarkers);
  // Coded repair: parity symbols sent in place of resends, and fragments receivers decoded from them.
  mirror("repair_symbols", "Coded repair symbols sent (one fills a different lost fragment at each receiver).", (s) => s.repairSymbols);
  mirror("chunks_recovered", "Fragments decoded from coded repair symbols instead of received.", (s) => s.chunksRecovered);
  mirror("naks_sent", "CHUNK_NAK packets sent asking a sender for missing fragments.", (s) => s.naksSent);
  mirror("naks_received", "CHUNK_NAK packets received from peers.", (s) => s.naksReceived);
  mirror("deltas_announced", "Deltas this node announced (MODEL_META sent for a new version).", (s) => s.deltasAnnounced);
  mirror("deltas_completed", "Deltas received whole with a matching sha256.", (s) => s.deltasCompleted);
  mirror("bytes_sent", "UDP payload bytes sent.", (s) => s.bytesSent);
  mirror("bytes_received", "UDP payload bytes received.", (s) => s.bytesReceived);
  // Trust: what strangers were refused (the drops by reason are in fleet_datagrams_dropped_total).
  mirror("repairs_refused", "NAKed fragments not resent because the asker's repair budget was spent.", (s) => s.repairsRefused);
  mirror("peers_refused", "Packets from a new node id while the peer table, or its source address's share of it, was full.", (s) => s.peersRefused);
  mirror("addresses_ignored", "Sprint 6.2 PEER_SYNCs whose body named another host than the one they came from.", (s) => s.addressesIgnored);

  // One series per listed value, at 0 from start-up (the lists are closed: label values stay bounded).
  const byLabel = <R extends string>(name: string, help: string, label: string, values: readonly R[], read: (s: OverlayStats) => Record<R, number>): Counter =>
    new Counter({
      name, help, labelNames: [label], registers: [registry],
      collect() {
        const s = source.overlayStats();
        this.reset();
        for (const r of values) this.labels(r).inc(s ? read(s)[r] : 0);
      },
    });
  const byReason = <R extends string>(name: string, help: string, reasons: readonly R[], read: (s: OverlayStats) => Record<R, number>): Counter =>
    byLabel(name, help, "reason", reasons, read);
  // The overlay counts every reason, including decode/shape that onDelta's DeltaError carries.
  byReason("fleet_deltas_rejected_total", "Deltas not merged, by reason.", REJECT_REASONS, (s) => s.deltasRejected);
  byReason("fleet_datagrams_dropped_total", "Datagrams dropped on receipt, by reason.", DROP_REASONS, (s) => s.datagramsDropped);
  byLabel("fleet_transfers_evicted_total", "Incoming transfers closed to free a slot for another sender: pool trusted (a peer over its fair share) or untrusted (the strangers' small pool, least progress first).",
    "pool", ["trusted", "untrusted"] as const, (s) => s.transfersEvicted);
  new Gauge({ name: "fleet_peers", help: "Peers currently known (heard from recently).", registers: [registry], collect() { this.set(source.peers()); } });
  new Gauge({ name: "fleet_transfers_in_flight", help: "Delta transfers being received.", registers: [registry], collect() { this.set(source.transfersInFlight()); } });
  new Gauge({ name: "fleet_applied_deltas", help: "Delta versions applied to this node's weights (taught or merged).", registers: [registry], collect() { this.set(source.appliedDeltas()); } });
  // The digest changes with every merge: as a label it would start a new series each time, so it
  // is a value, and fleet_model_info's labels change only with the model a node started from.
  new Gauge({
    name: "fleet_model_info", help: "The model this node holds: 1, labelled with the node's id and the fingerprint of the weights it started from.",
    labelNames: ["node", "fingerprint"], registers: [registry],
    collect() {
      this.reset();
      const m = source.model();
      if (m) this.labels(m.node, m.fingerprint).set(1);
    },
  });
  new Gauge({
    name: "fleet_model_digest",
    help: "The node's current weights: the first 48 bits of their sha256 digest, as a number (equal values, equal weights; in hex, the 12 digits fleetctl shows).",
    labelNames: ["node"], registers: [registry],
    collect() {
      this.reset();
      const m = source.model();
      const n = m && digestNumber(m.digest);
      if (m && n !== undefined) this.labels(m.node).set(n);
    },
  });

  // The fleet log: what is on disk, and what catch-up fetched to get there.
  const logGauge = (name: string, help: string, read: (l: NonNullable<ReturnType<NonNullable<MetricsSource["log"]>>>) => number | undefined): Gauge =>
    new Gauge({ name, help, registers: [registry], collect() { this.reset(); const l = source.log?.(); const v = l && read(l); if (v !== undefined) this.set(v); } });
  logGauge("fleet_log_entries", "Entries of the fleet log this node holds on disk (its weights are base + their exact sum).", (l) => l.entries);
  logGauge("fleet_log_set_digest", "The set of entries held: the first 48 bits of its hash, as a number (equal values, the same entries).", (l) => digestNumber(l.set));
  logGauge("fleet_log_lacking", "Entries a peer listed that this node does not hold yet (0: nothing known to be missing).", (l) => l.lacking);
  new Counter({
    name: "fleet_log_fetches_total", help: "Catch-up fetches: kind index (a peer's list of entries) or entry (an entry asked for and received).",
    labelNames: ["kind"], registers: [registry],
    collect() { this.reset(); const l = source.log?.(); this.labels("index").inc(l?.fetches.index ?? 0); this.labels("entry").inc(l?.fetches.entry ?? 0); },
  });
  new Counter({
    name: "fleet_log_fetch_bytes_total", help: "Bytes of delta files received by catch-up (entries asked for).", registers: [registry],
    collect() { this.reset(); this.inc(source.log?.()?.fetchBytes ?? 0); },
  });

  // Recall: the fleet's lessons this node answers as taught, from its weights. A scrape calls every
  // collect() in one synchronous loop, so the four read the same pass.
  const recallGauge = (name: string, help: string, read: (r: NonNullable<ReturnType<NonNullable<MetricsSource["recall"]>>>) => number | undefined): Gauge =>
    new Gauge({ name, help, registers: [registry], collect() { this.reset(); const r = source.recall?.(); const v = r && read(r); if (v !== undefined) this.set(v); } });
  recallGauge("fleet_lessons_held", "Lessons (taught question/answer pairs) in the fleet log this node held at its newest recall pass.", (r) => r.held);
  recallGauge("fleet_lessons_asked", `Of those lessons, the newest (at most ${RECALL_MAX_LESSONS}) this node asked its own weights in that pass.`, (r) => r.asked);
  recallGauge("fleet_lessons_recalled", "Of the lessons asked, those this node answered exactly as taught (trimmed), from its weights.", (r) => r.recalled);
  recallGauge("fleet_lessons_recall_digest", "The weights that recall pass asked: the first 48 bits of their digest, as a number (equal to fleet_model_digest once the pass is of the current weights).", (r) => digestNumber(r.digest));

  // Trust: entries refused by reason and admitted by how, at 0 from start-up (closed lists), and
  // how many authors are ignored (past the refusal threshold, until re-enrolled).
  new Counter({
    name: "fleet_entries_refused_total", help: "Entries the trust gate refused, by reason: unsigned, not_member, bad_signature, revoked, out_of_bounds, ignored_author.",
    labelNames: ["reason"], registers: [registry],
    collect() { this.reset(); const t = source.trust?.(); for (const r of REFUSALS) this.labels(r).inc(t?.refused[r] ?? 0); },
  });
  new Counter({
    name: "fleet_entries_admitted_total", help: "Entries admitted into the fleet log, by how: signed (a roster member's signature), unsigned (--accept-unsigned), self (taught here).",
    labelNames: ["by"], registers: [registry],
    collect() { this.reset(); const t = source.trust?.(); for (const b of ADMISSIONS) this.labels(b).inc(t?.admitted[b] ?? 0); },
  });
  new Gauge({
    name: "fleet_authors_ignored", help: "Authors whose entries this node ignores after repeated refusals of their signed entries, until re-enrolled with a new key.",
    registers: [registry], collect() { this.set(source.trust?.()?.ignored ?? 0); },
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
    httpRefused: new Counter({ name: "fleet_http_refused_total", help: "HTTP clients turned away, by reason: unauthorized (no or wrong token), timeout (headers or body too slow), over_cap (too many connections).", labelNames: ["reason"], registers: [registry] }),
    stateWriteErrors: new Counter({ name: "fleet_state_write_errors_total", help: "Entries this node could not save (disk full, no file descriptors, I/O error); its weights stayed as they were and the entry is fetched again.", registers: [registry] }),
    convergeSeconds: new Histogram({
      name: "fleet_log_converge_seconds", help: "From first knowing a peer holds entries this node lacks to holding them all.",
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300], registers: [registry],
    }),
    jobRoundSeconds: new Histogram({
      name: "fleet_job_round_seconds", help: "Training rounds this node coordinated: from calling the members to the round's entry made and the loss measured.",
      buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600], registers: [registry],
    }),
    jobParticipants: new Gauge({ name: "fleet_job_participants", help: "Members called for the current (or last) training round this node coordinates.", registers: [registry] }),
    jobStragglers: new Counter({ name: "fleet_job_stragglers_total", help: "Members left out of a training round this node coordinated: no update before the straggler timeout (slow, dead or unreachable).", registers: [registry] }),
    jobLoss: new Gauge({ name: "fleet_job_loss", help: "Mean answer-token loss over the job's data set after the last training round this node coordinated.", registers: [registry] }),
    text: () => registry.metrics(),
  };
  for (const r of HTTP_REFUSALS) m.httpRefused.labels(r).inc(0);
  return m;
}
