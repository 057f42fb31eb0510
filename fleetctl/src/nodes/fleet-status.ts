// The state of the whole fleet from every node's /status and /log, gathered at once: who is up,
// what model each holds, whether they all hold the same one, and which entries of the fleet's log
// each node still lacks.

import { FleetError } from "../errors.js";
import { counter, getLog, getStatus, toMs, type NodeAddress, type NodeStatus } from "./client.js";
import { compareLogs, type NodeLog } from "./fleet-log.js";

/** A node's share of the fleet log: what it holds and what the others hold that it does not. */
export interface NodeLogRow {
  entries: number;
  /** Hash of its sorted entry names (GET /log `set`). */
  set: string;
  /** Entry names (`author~seq~sha256`) that another node holds and this one does not, sorted. */
  lacking: string[];
}

export interface NodeRow {
  host: string;
  nodeId: string;
  url: string;
  up: boolean;
  /** Why it is not up. */
  error?: string;
  /** The id the node reports (should be nodeId). */
  reportedId?: string;
  /** The newest version the node applied, if any. */
  version: string | null;
  digest: string | null;
  fingerprint: string | null;
  applied: number;
  peers: number;
  lastMergeAt: string | null;
  fragmentsSent: number | null;
  fragmentsReceived: number | null;
  retransmits: number | null;
  /** Null when the node is down or its /log did not answer (logError says why). */
  log: NodeLogRow | null;
  logError?: string;
}

export interface FleetStatus {
  at: string;
  nodes: NodeRow[];
  up: number;
  total: number;
  /** Every node up and all holding bitwise the same weights. */
  digestsAgree: boolean;
  /** Distinct digests among the nodes that are up. */
  digests: string[];
  /** The union of the entries the nodes hold: what each should hold once caught up. */
  log: { entries: number; set: string };
  /** Every node up, its log known, and none lacking an entry another holds. */
  converged: boolean;
  /** Digests agree and the logs converged. */
  ok: boolean;
}

/** How long a node gets to answer its /status when nobody says otherwise. */
export const STATUS_TIMEOUT_S = 5;

export async function fleetStatus(nodes: NodeAddress[], timeoutMs = STATUS_TIMEOUT_S * 1000): Promise<FleetStatus> {
  const read = await Promise.all(
    nodes.map(async (n): Promise<{ row: NodeRow; log: NodeLog | null }> => {
      const url = `http://${n.address}:${n.httpPort}`;
      const [status, log] = await Promise.allSettled([getStatus(n, timeoutMs), getLog(n, timeoutMs)]);
      if (status.status === "rejected") return { row: { ...emptyRow(n, url), error: message(status.reason) }, log: null };
      const row = toRow(n, url, status.value);
      if (log.status === "rejected") row.logError = message(log.reason);
      return { row, log: log.status === "fulfilled" ? log.value : null };
    }),
  );
  return summarize(read.map((r) => r.row), new Map(read.flatMap((r) => (r.log ? [[r.row.nodeId, r.log] as const] : []))));
}

/** The fleet's verdict from its rows and the logs that could be read (by node id). */
export function summarize(read: NodeRow[], logs: ReadonlyMap<string, NodeLog> = new Map()): FleetStatus {
  const fleetLog = compareLogs(logs);
  const rows = read.map((r): NodeRow => {
    const l = r.up ? logs.get(r.nodeId) : undefined;
    return l ? { ...r, log: { entries: l.entries, set: l.set, lacking: fleetLog.lacking.get(r.nodeId) ?? [] } } : r;
  });
  const up = rows.filter((r) => r.up);
  const digests = [...new Set(up.map((r) => r.digest ?? ""))];
  const digestsAgree = up.length === rows.length && rows.length > 0 && digests.length === 1 && digests[0] !== "";
  const converged = up.length === rows.length && rows.length > 0 && up.every((r) => r.log !== null && r.log.lacking.length === 0);
  return {
    at: new Date().toISOString(), nodes: rows, up: up.length, total: rows.length, digestsAgree, digests,
    log: { entries: fleetLog.entries, set: fleetLog.set }, converged, ok: digestsAgree && converged,
  };
}

function message(e: unknown): string {
  return e instanceof FleetError ? e.message : String(e);
}

function emptyRow(n: NodeAddress, url: string): NodeRow {
  return {
    host: n.host, nodeId: n.nodeId, url, up: false, version: null, digest: null, fingerprint: null, applied: 0, peers: 0,
    lastMergeAt: null, fragmentsSent: null, fragmentsReceived: null, retransmits: null, log: null,
  };
}

export function toRow(n: NodeAddress, url: string, s: NodeStatus): NodeRow {
  const applied = Array.isArray(s.applied) ? s.applied : [];
  const last = toMs(s.lastMergeAt ?? null);
  const c = s.counters;
  return {
    host: n.host,
    nodeId: n.nodeId,
    url,
    up: true,
    reportedId: s.id,
    version: s.version ?? applied[applied.length - 1]?.version ?? null,
    digest: s.digest ?? null,
    fingerprint: s.fingerprint ?? null,
    applied: applied.length,
    peers: Array.isArray(s.peers) ? s.peers.length : 0,
    lastMergeAt: last === null ? null : new Date(last).toISOString(),
    fragmentsSent: counter(c, "fragmentsSent", "fragments_sent", "fragments_sent_total"),
    fragmentsReceived: counter(c, "fragmentsReceived", "fragments_received", "fragments_received_total"),
    retransmits: counter(c, "retransmits", "retransmits_total"),
    log: null,
  };
}
