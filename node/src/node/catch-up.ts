// Anti-entropy: every entry one live node holds reaches every node that lacks it, with no
// coordinator. A late joiner, a rebooted node, a node that missed a transfer or could not save it
// all catch up by this one mechanism.
//
//   1. Each PEER_SYNC says `log=<count>.<first 16 hex of the set hash>` (what we hold).
//   2. A peer whose set differs from ours for SETTLE_MS (a teach in flight settles by itself) is
//      asked for its index: CONTROL `index`; it answers with a payload of kind "index", its sorted
//      entry names. Asked again at most every INDEX_EVERY_MS per peer.
//   3. The names we lack are requested from a peer that listed them, WANT_BATCH at a time (CONTROL
//      `want`), each answered with an entry bundle (payload "entry") that is merged like any other.
//      A request unanswered within REQUEST_TIMEOUT_MS may go to another holder.
//   4. Serving is one transfer at a time (a queue): catch-up shares the link with at most one
//      transfer of its own, so a new teach is never queued behind a hundred old entries.
// Both sides pull: each node asks for what it lacks, so a node holding entries the other lacks
// does nothing for them but answer.

import type { Logger } from "pino";
import { parseEntryName } from "../log/entry.js";
import type { OverlayHandle } from "./seams.js";

export const SETTLE_MS = 1_500;
export const INDEX_EVERY_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 10_000;
/** Names per `want`: 8 names of ≤ 90 characters keep the CONTROL datagram under 1 KB. */
export const WANT_BATCH = 8;
/** An index past this many names is refused (a fleet log is compacted long before). */
export const INDEX_MAX_NAMES = 100_000;
/** Requests for entries queued at a serving node at most (more are dropped; the asker re-asks). */
export const SERVE_QUEUE_MAX = 256;
/** Refused names remembered at most. */
export const REFUSED_MAX = 4096;

export interface LogView {
  readonly size: number;
  /** setHash of the names held. */
  readonly set: string;
  names(): string[];
  has(name: string): boolean;
  /** The bundle of an entry held, to send. */
  bundle(name: string): Promise<Uint8Array>;
}

export interface CatchUpStats {
  indexFetches: number;
  entryFetches: number;
  fetchBytes: number;
  served: number;
}

/** `log=<count>.<hash16>` as a peer said it, or undefined. */
export function parseLogSays(v: string | undefined): { count: number; set: string } | undefined {
  const m = v === undefined ? null : /^(0|[1-9][0-9]{0,15})\.([0-9a-f]{16})$/.exec(v);
  return m ? { count: Number(m[1]), set: m[2]! } : undefined;
}

export class CatchUp {
  readonly stats: CatchUpStats = { indexFetches: 0, entryFetches: 0, fetchBytes: 0, served: 0 };
  /** Per peer: when its differing set was first seen, when we last asked for its index. */
  private readonly differ = new Map<string, number>();
  private readonly askedIndex = new Map<string, number>();
  /** Per peer, the names its last index listed that we did not hold. */
  private readonly lackingFrom = new Map<string, Set<string>>();
  /** Names asked for, and when (one holder at a time). */
  private readonly requested = new Map<string, number>();
  private readonly serveQueue: Array<{ to: string; kind: "index" | "entry"; name?: string }> = [];
  private serving = false;
  private lackingSince: number | undefined;
  /** Names this node refused (trust): never asked for again, never counted as lacking, until forgotten. */
  private readonly refused = new Set<string>();

  constructor(
    private readonly o: {
      log: LogView;
      overlay: () => OverlayHandle | undefined;
      logger: Logger;
      now?: () => number;
      /** Told how long the node took to hold everything it knew it lacked. */
      onConverged?: (ms: number) => void;
    },
  ) {}

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** What we say in PEER_SYNC. */
  says(): Record<string, string> {
    return { log: `${this.o.log.size}.${this.o.log.set.slice(0, 16)}` };
  }

  /** Entries some peer listed that we do not hold (as far as we know). */
  lacking(): number {
    const all = new Set<string>();
    for (const s of this.lackingFrom.values()) for (const n of s) if (!this.o.log.has(n) && !this.refused.has(n)) all.add(n);
    return all.size;
  }

  /** Periodic: find peers whose set differs, ask for their index, re-ask what timed out. */
  tick(peers: Array<{ id: string; ours?: boolean; says?: Record<string, string> }>): void {
    const ov = this.o.overlay();
    if (!ov) return;
    const now = this.now();
    const ours = this.o.log.set.slice(0, 16);
    const live = new Set<string>();
    for (const p of peers) {
      if (!p.ours) continue;
      live.add(p.id);
      const said = parseLogSays(p.says?.log);
      if (!said || said.set === ours) { this.differ.delete(p.id); continue; }
      const since = this.differ.get(p.id) ?? now;
      this.differ.set(p.id, since);
      if (now - since < SETTLE_MS || now - (this.askedIndex.get(p.id) ?? -Infinity) < INDEX_EVERY_MS) continue;
      // A peer that holds nothing has nothing for us: it will ask us.
      if (said.count === 0) continue;
      this.askedIndex.set(p.id, now);
      this.stats.indexFetches++;
      void ov.sendControl(p.id, "index", {});
    }
    for (const id of [...this.lackingFrom.keys()]) if (!live.has(id)) this.lackingFrom.delete(id);
    for (const id of [...this.differ.keys()]) if (!live.has(id)) this.differ.delete(id);
    for (const [name, at] of this.requested) if (now - at >= REQUEST_TIMEOUT_MS || this.o.log.has(name)) this.requested.delete(name);
    this.requestMore();
    this.noteLacking();
  }

  /** A CONTROL from one of our peers. */
  onControl(from: string, kind: string, body: Record<string, string>): void {
    if (kind === "index") this.enqueue({ to: from, kind: "index" });
    else if (kind === "want") {
      for (const name of (body.names ?? "").split(",").slice(0, WANT_BATCH)) {
        if (parseEntryName(name) && this.o.log.has(name)) this.enqueue({ to: from, kind: "entry", name });
      }
    }
  }

  /** A peer's index arrived: note what it has that we lack, and ask for it. */
  onIndex(from: string, bytes: Uint8Array): void {
    const text = new TextDecoder().decode(bytes);
    const names = text.length === 0 ? [] : text.split("\n");
    if (names.length > INDEX_MAX_NAMES || !names.every((n) => parseEntryName(n))) {
      this.o.logger.warn({ ev: "index_refused", from, names: names.length }, "a peer's index is not a list of entry names; ignored");
      return;
    }
    const lacking = new Set(names.filter((n) => !this.o.log.has(n) && !this.refused.has(n)));
    this.lackingFrom.set(from, lacking);
    this.o.logger.info({ ev: "index", from, names: names.length, lacking: lacking.size }, `${from} holds ${names.length} entries, ${lacking.size} of them not here`);
    this.requestMore();
    this.noteLacking();
  }

  /** An entry arrived (by catch-up or by a teach's broadcast) and is held now. */
  onHeld(name: string, bytes: number, fetched: boolean): void {
    if (this.requested.delete(name) || fetched) {
      this.stats.entryFetches++;
      this.stats.fetchBytes += bytes;
    }
    this.requestMore();
    this.noteLacking();
  }

  /**
   * An entry this node refused (not signed by a member, out of bounds…): a peer that holds it (its
   * author, or an older node) keeps listing it, and asking again would fetch the same refusal forever.
   */
  onRefused(name: string): void {
    // The runtime remembers as many; past that the oldest may be fetched (and refused) once more.
    if (this.refused.size >= REFUSED_MAX) this.refused.delete(this.refused.values().next().value!);
    this.refused.add(name);
    this.requested.delete(name);
    for (const s of this.lackingFrom.values()) s.delete(name);
    this.noteLacking();
  }

  /** The roster changed: refused names may be admitted now; the next index lists them again. */
  forgetRefused(): void {
    this.refused.clear();
    this.askedIndex.clear();
  }

  /** An entry we asked for could not be kept (disk full…): it may be asked for again at once. */
  onFailed(name: string): void {
    this.requested.set(name, this.now() - REQUEST_TIMEOUT_MS / 2);
  }

  private requestMore(): void {
    const ov = this.o.overlay();
    if (!ov) return;
    const now = this.now();
    for (const [peer, names] of this.lackingFrom) {
      const inFlight = [...this.requested.values()].filter((at) => now - at < REQUEST_TIMEOUT_MS).length;
      if (inFlight >= WANT_BATCH) return;
      const batch: string[] = [];
      for (const n of names) {
        if (batch.length >= WANT_BATCH - inFlight) break;
        if (this.o.log.has(n) || this.refused.has(n)) { names.delete(n); continue; }
        if (this.requested.has(n)) continue;
        batch.push(n);
      }
      if (batch.length === 0) continue;
      for (const n of batch) this.requested.set(n, now);
      void ov.sendControl(peer, "want", { names: batch.join(",") });
    }
  }

  private noteLacking(): void {
    const n = this.lacking();
    if (n > 0) this.lackingSince ??= this.now();
    else if (this.lackingSince !== undefined) {
      this.o.onConverged?.(this.now() - this.lackingSince);
      this.lackingSince = undefined;
    }
  }

  private enqueue(job: { to: string; kind: "index" | "entry"; name?: string }): void {
    if (this.serveQueue.length >= SERVE_QUEUE_MAX) return;
    if (this.serveQueue.some((j) => j.to === job.to && j.kind === job.kind && j.name === job.name)) return;
    this.serveQueue.push(job);
    void this.serve();
  }

  private async serve(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    try {
      for (let job = this.serveQueue.shift(); job; job = this.serveQueue.shift()) {
        const ov = this.o.overlay();
        if (!ov) return;
        try {
          const bytes = job.kind === "index" ? new TextEncoder().encode(this.o.log.names().join("\n")) : await this.o.log.bundle(job.name!);
          await ov.sendPayload(bytes, { kind: job.kind, to: [job.to] });
          this.stats.served++;
        } catch (e) {
          this.o.logger.warn({ ev: "serve_failed", to: job.to, kind: job.kind, name: job.name, err: (e as Error).message }, "could not send what a peer asked for");
        }
      }
    } finally {
      this.serving = false;
    }
  }
}
