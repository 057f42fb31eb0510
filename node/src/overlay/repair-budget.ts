// How much a sender resends for whom. Anyone who can put a NAK on the wire can name a version we
// teach; answered freely, a 100-byte NAK buys a whole delta sent wherever its source address says
// (course NAK lists: tens of times its size, our ranges: thousands). NAKs reach the sender only from
// known peers at the source their id is bound to (discovery.ts); each of those has a budget:
//  - an allowance per transfer for receivers it was meant for (known when it was announced, or a
//    static peer): REPAIR_ALLOWANCE_COPIES times the transfer, what honest repair at 40 % loss needs
//    with room to spare (each lost chunk asked again until it lands: p / (1 - p) = 0.67 copies);
//  - peers first heard later share one pool of the same size per transfer: at 40 % loss a sender
//    often announces before it heard every receiver (their PEER_SYNC answers are lost too), and
//    those must still complete; however many ids an attacker introduces, they drain this one pool;
//    (with a roster, only members draw on a payload's pool — an id the attacker introduces is not
//    one — while a course delta's stays open: course nodes are never members);
//  - beyond these, EARNED_PER_NAK_BYTE bytes out per byte of NAK in: at most 2x, never an amplifier.
// Budgets are counted in datagram bytes as the sender estimates them (never less than the real size).

/** Copies of a transfer one of its intended receivers may have resent to it. */
export const REPAIR_ALLOWANCE_COPIES = 2;
/** Bytes resent per byte of NAK received, for askers without (or past) an allowance. */
export const EARNED_PER_NAK_BYTE = 2;
/** Earned credit kept per asker, at most (a silent asker does not bank a delta's worth). */
const EARNED_CAP_BYTES = 64 * 1024;
/** Askers with earned credit remembered at once (oldest forgotten first): forged sources cost bounded memory. */
const EARNED_KEYS = 1024;

export class RepairBudget {
  /** version -> asker ("ip:port") -> allowance left. */
  private readonly allowance = new Map<string, Map<string, number>>();
  /** version -> what is left of the pool shared by askers outside the audience. */
  private readonly pool = new Map<string, number>();
  /** Versions whose pool only members may draw on (DeltaFleet payloads, with a roster). */
  private readonly membersOnly = new Set<string>();
  private readonly earned = new Map<string, number>();

  /** `isMember`: whether an asker ("ip:port") is a roster member; absent: no roster, anyone may share a pool. */
  constructor(private readonly isMember?: (asker: string) => boolean) {}

  /** A transfer of `bytes` (estimated datagram bytes of one copy) is announced to these receivers. */
  open(version: string, audience: Iterable<string>, bytes: number, membersOnly = false): void {
    if (membersOnly) this.membersOnly.add(version);
    const left = new Map<string, number>();
    for (const k of audience) left.set(k, REPAIR_ALLOWANCE_COPIES * bytes);
    this.allowance.set(version, left);
    this.pool.set(version, REPAIR_ALLOWANCE_COPIES * bytes);
  }

  close(version: string): void {
    this.allowance.delete(version);
    this.pool.delete(version);
    this.membersOnly.delete(version);
  }

  /** A NAK of `bytes` arrived from `asker`. */
  earn(asker: string, bytes: number): void {
    const had = this.earned.get(asker) ?? 0;
    this.earned.delete(asker);   // re-inserted last: the map's order is the eviction order
    this.earned.set(asker, Math.min(EARNED_CAP_BYTES, had + EARNED_PER_NAK_BYTE * bytes));
    if (this.earned.size > EARNED_KEYS) this.earned.delete(this.earned.keys().next().value!);
  }

  /**
   * Takes `bytes` from the asker's allowance for this version (the shared pool if it has none), else
   * from what it earned; false (nothing taken) if none holds enough.
   */
  spend(version: string, asker: string, bytes: number): boolean {
    const left = this.allowance.get(version);
    const a = left?.get(asker);
    if (a !== undefined && a >= bytes) { left!.set(asker, a - bytes); return true; }
    const pool = this.pool.get(version) ?? 0;
    const pooled = !this.membersOnly.has(version) || (this.isMember?.(asker) ?? true);
    if (a === undefined && pool >= bytes && pooled) { this.pool.set(version, pool - bytes); return true; }
    const e = this.earned.get(asker) ?? 0;
    if (e >= bytes) { this.earned.set(asker, e - bytes); return true; }
    return false;
  }
}
