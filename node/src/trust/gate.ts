// The node's trust in one place: the roster in force, --accept-unsigned, the reputation table and
// the counts by reason that /status and /metrics show. The node program asks it one question per
// entry (judge) and tells it about its own teaches (admitSelf); the roster can be swapped while the
// node runs (a revocation needs no restart).
//
// Without a roster, trust is off: every entry is taken as before (isOn false, judge never asked).

import type { Entry } from "../log/entry.js";
import type { CheckedDelta } from "../log/exact-sum.js";
import { ADMISSIONS, judge, REFUSALS, type Admission, type Judgement, type Refusal } from "./admission.js";
import { Reputation, type AuthorStatus } from "./reputation.js";
import type { Roster } from "./roster.js";

export interface TrustStatus {
  roster: boolean;
  members: number;
  acceptUnsigned: boolean;
  refused: Record<Refusal, number>;
  admitted: Record<Admission, number>;
  authors: AuthorStatus[];
}

export interface TrustGateOptions {
  roster: Roster | undefined;
  acceptUnsigned: boolean;
  /** The model's parameter count (the L2 bound grows with its square root). */
  params: number;
  /** Where trust.json is kept; undefined: in memory only (tests). */
  stateDir?: string;
}

const zeros = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export class TrustGate {
  readonly refused = zeros(REFUSALS);
  readonly admitted = zeros(ADMISSIONS);
  readonly reputation: Reputation;
  private current: Roster | undefined;

  constructor(private readonly o: TrustGateOptions) {
    this.current = o.roster;
    this.reputation = Reputation.open(o.stateDir);
  }

  get isOn(): boolean { return this.current !== undefined; }
  get roster(): Roster | undefined { return this.current; }
  get acceptUnsigned(): boolean { return this.o.acceptUnsigned; }

  /** A new roster from the file (only while trust is on: a roster cannot be added to a node started without one). */
  setRoster(r: Roster): void {
    if (this.current) this.current = r;
  }

  isMember(id: string): boolean {
    return this.current?.members.has(id) ?? false;
  }

  /** The roster key of `id`, base64, if it is a member. */
  keyOf = (id: string): string | undefined => this.current?.members.get(id)?.b64;

  /** Judges an entry someone else made, and counts the verdict. Call only while isOn. */
  judge(entry: Entry, sig: string | undefined, checked: CheckedDelta): Judgement {
    const roster = this.current;
    if (!roster) throw new Error("TrustGate.judge without a roster: trust is off");
    const j = judge({
      entry, sig, checked, roster, acceptUnsigned: this.o.acceptUnsigned, params: this.o.params,
      isIgnored: (a, k) => this.reputation.isIgnored(a, k),
    });
    if ("refused" in j) this.countRefusal(entry.author, j.refused, j.vouchedBy);
    else {
      this.admitted[j.admitted]++;
      this.reputation.admitted(entry.author, this.isMember(entry.author));
    }
    return j;
  }

  /** An entry refused again (it came back under another transfer): counted by reason, not held against its author twice. */
  refusedAgain(reason: Refusal): void {
    this.refused[reason]++;
  }

  /** Our own teach. */
  admitSelf(): void {
    this.admitted.self++;
  }

  ignoredCount(): number {
    return this.reputation.ignoredCount(this.keyOf);
  }

  status(): TrustStatus {
    return {
      roster: this.isOn, members: this.current?.members.size ?? 0, acceptUnsigned: this.o.acceptUnsigned,
      refused: { ...this.refused }, admitted: { ...this.admitted }, authors: this.reputation.status(this.keyOf),
    };
  }

  close(): void {
    this.reputation.save();
  }

  private countRefusal(author: string, reason: Refusal, vouchedBy: string | undefined): void {
    this.refused[reason]++;
    this.reputation.refused(author, vouchedBy);
  }
}
