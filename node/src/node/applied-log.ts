// Which delta versions the weights in memory hold, taught here or merged: the one record every
// "already applied?" asks (the runtime before a merge, the overlay before it opens or delivers a
// transfer, /status, the metrics). The state folder saves it with the weights it describes.

/** Applied versions remembered; far more than a fleet teaches in its life, still bounded. */
export const APPLIED_KEPT = 10_000;

export interface AppliedEntry {
  version: string;
  /** Node id of the sender; our own id for a delta we taught. */
  from: string;
  /** Unix ms when it was merged (or taught). */
  at: number;
  sha256?: string;
}

export class AppliedLog {
  private list: AppliedEntry[] = [];
  private versions = new Set<string>();

  constructor(entries: readonly AppliedEntry[] = []) {
    this.replace(entries);
  }

  has(version: string): boolean { return this.versions.has(version); }

  get size(): number { return this.list.length; }

  /** Oldest first. */
  entries(): AppliedEntry[] { return [...this.list]; }

  /** Records a version the weights now hold; false (and nothing changes) when it was already there. */
  add(entry: AppliedEntry): boolean {
    if (this.versions.has(entry.version)) return false;
    this.list.push(entry);
    this.versions.add(entry.version);
    this.trim();
    return true;
  }

  /** The log of other weights (a saved generation loaded at start-up). */
  replace(entries: readonly AppliedEntry[]): void {
    this.list = [];
    this.versions = new Set();
    for (const e of entries) this.add(e);
  }

  private trim(): void {
    while (this.list.length > APPLIED_KEPT) this.versions.delete(this.list.shift()!.version);
  }
}
