// The state of the whole fleet from every node's /status, gathered at once: who is up, what model
// each holds, and whether they all hold the same one.

import { FleetError } from "../errors.js";
import { counter, getStatus, toMs, type NodeAddress, type NodeStatus } from "./client.js";

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
  ok: boolean;
}

/** How long a node gets to answer its /status when nobody says otherwise. */
export const STATUS_TIMEOUT_S = 5;

export async function fleetStatus(nodes: NodeAddress[], timeoutMs = STATUS_TIMEOUT_S * 1000): Promise<FleetStatus> {
  const rows = await Promise.all(
    nodes.map(async (n): Promise<NodeRow> => {
      const url = `http://${n.address}:${n.httpPort}`;
      try {
        return toRow(n, url, await getStatus(n, timeoutMs));
      } catch (e) {
        return { ...emptyRow(n, url), error: e instanceof FleetError ? e.message : String(e) };
      }
    }),
  );
  return summarize(rows);
}

export function summarize(rows: NodeRow[]): FleetStatus {
  const up = rows.filter((r) => r.up);
  const digests = [...new Set(up.map((r) => r.digest ?? ""))];
  const digestsAgree = up.length === rows.length && rows.length > 0 && digests.length === 1 && digests[0] !== "";
  return { at: new Date().toISOString(), nodes: rows, up: up.length, total: rows.length, digestsAgree, digests, ok: digestsAgree };
}

function emptyRow(n: NodeAddress, url: string): NodeRow {
  return {
    host: n.host, nodeId: n.nodeId, url, up: false, version: null, digest: null, fingerprint: null, applied: 0, peers: 0,
    lastMergeAt: null, fragmentsSent: null, fragmentsReceived: null, retransmits: null,
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
  };
}
