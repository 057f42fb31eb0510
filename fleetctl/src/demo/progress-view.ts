// The demo's live view: one line per node saying where the delta is (training, sending,
// receiving n/m fragments, verified, merged), redrawn in place on a terminal; without one (CI logs,
// tests, a pipe) a plain line per stage change instead, so the log reads as a story.

import type { Io } from "../io.js";

export type Stage = "starting" | "ready" | "training" | "sending" | "sent" | "receiving" | "verified" | "merged" | "rejected" | "failed";

export interface NodeView { id: string; stage: Stage; have?: number; total?: number; note?: string }

const STAGE_TEXT: Record<Stage, string> = {
  starting: "starting", ready: "ready", training: "training", sending: "sending", sent: "sent",
  receiving: "receiving", verified: "verified", merged: "merged", rejected: "REJECTED", failed: "FAILED",
};

export class ProgressView {
  private readonly rows: NodeView[];
  private drawn = 0;
  private last = new Map<string, Stage>();
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  /** `quiet`: show nothing (the report goes out as JSON). */
  constructor(private readonly io: Io, ids: string[], private readonly quiet: boolean) {
    this.rows = ids.map((id) => ({ id, stage: "starting" }));
  }

  /** A line of narration above the node rows. */
  line(text: string): void {
    if (this.quiet || this.finished) return;
    if (this.io.isTty) { this.erase(); this.io.out(text + "\n"); this.draw(); } else this.io.out(text + "\n");
  }

  set(id: string, stage: Stage, extra: Partial<NodeView> = {}): void {
    const r = this.rows.find((x) => x.id === id);
    if (!r) return;
    Object.assign(r, { stage, ...extra });
    if (this.quiet || this.finished) return;
    if (this.io.isTty) { this.timer ??= setTimeout(() => { this.timer = undefined; this.erase(); this.draw(); }, 50); return; }
    // Plain lines: one per stage change (receiving progress only at its start, to stay concise).
    if (this.last.get(id) === stage) return;
    this.last.set(id, stage);
    this.io.out(`  ${r.id}: ${describe(r)}\n`);
  }

  /** Where a node is now. */
  stage(id: string): Stage | undefined {
    return this.rows.find((x) => x.id === id)?.stage;
  }

  /** The last drawing stays on screen; nothing is drawn after this. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.quiet && this.io.isTty) { this.erase(); this.draw(); }
  }

  private erase(): void {
    if (this.drawn) this.io.out(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    for (const r of this.rows) {
      const bar = r.stage === "receiving" && r.total ? ` [${"#".repeat(Math.round(20 * (r.have ?? 0) / r.total)).padEnd(20, ".")}]` : "";
      this.io.out(`  ${r.id.padEnd(6)} ${describe(r)}${bar}\n`);
    }
    this.drawn = this.rows.length;
  }
}

function describe(r: NodeView): string {
  const frac = r.total ? ` ${r.have ?? 0}/${r.total} fragments` : "";
  return `${STAGE_TEXT[r.stage]}${r.stage === "receiving" || r.stage === "sending" || r.stage === "sent" ? frac : ""}${r.note ? ` (${r.note})` : ""}`;
}
