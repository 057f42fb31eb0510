// The HTTP API of one node (docs/contracts.md), as fleetctl calls it: each call with a timeout,
// every failure a FleetError naming the node.

import { FleetError } from "../errors.js";
import type { FleetHost } from "../inventory.js";
import type { NodeLog } from "./fleet-log.js";
import type { TrainStatus } from "../../../node/src/train/wire.js";
import type { RecalledLesson } from "../../../node/src/node/recall.js";

export interface NodeAddress {
  /** Inventory host name, for messages. */
  host: string;
  nodeId: string;
  address: string;
  httpPort: number;
  /** The fleet's API token (fleet-node --api-token-file): from another machine, /status, /ask and /teach need it. */
  token?: string | undefined;
}

/** Where fleetctl reaches an inventory host's node, with the fleet's token. */
export function nodeAddressOf(h: FleetHost): NodeAddress {
  return { host: h.name, nodeId: h.nodeId, address: h.address, httpPort: h.httpPort, token: h.apiToken };
}

export interface AppliedVersion {
  version: string;
  from: string;
  at: number | string;
}

export interface NodeStatus {
  id: string;
  fingerprint?: string;
  digest: string;
  version?: string;
  applied: AppliedVersion[];
  peers: { id: string; address?: string; port?: number; dialect?: string; lastSeenMs?: number; rttMs?: number }[];
  transfers?: unknown[];
  counters?: Record<string, number>;
  lastMergeAt?: number | string | null;
  startedAt?: number | string;
}

export interface TeachAnswer {
  version: string;
  bytes: number;
  chunks: number;
  loss: number;
  steps: number;
  ms: number;
  answer: string;
  learned: boolean;
}

export interface AskAnswer {
  answer: string;
  raw: string;
  tokens: number;
  ms: number;
}

export function nodeUrl(n: NodeAddress, path: string): string {
  const host = n.address.includes(":") && !n.address.startsWith("[") ? `[${n.address}]` : n.address;
  return `http://${host}:${n.httpPort}${path}`;
}

async function call<T>(n: NodeAddress, method: "GET" | "POST", path: string, body: unknown, timeoutMs: number): Promise<T> {
  const url = nodeUrl(n, path);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(n.token === undefined ? {} : { authorization: `Bearer ${n.token}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const why = (e as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : String((e as { cause?: Error }).cause?.message ?? (e as Error).message);
    throw new FleetError("NODE_DOWN", `node ${n.nodeId} (${n.host}) is not answering at ${url}: ${why}`, {
      suggestion: "is it running? `fleetctl up -i <inventory>` starts it, `fleetctl logs` shows why it stopped",
      detail: { node: n.nodeId, host: n.host },
    });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new FleetError("NODE_ERROR", `node ${n.nodeId} (${n.host}) answered ${method} ${path} with something that is not JSON (HTTP ${res.status})`, {
      suggestion: `is port ${n.httpPort} on ${n.address} really a DeltaFleet node? check fleet_node_http_port`,
    });
  }
  if (res.status === 401) {
    throw new FleetError("NODE_ERROR", `node ${n.nodeId} (${n.host}) refused ${method} ${path}: HTTP 401, ${n.token === undefined ? "it needs the fleet's API token" : "it holds another API token"}`, {
      suggestion: n.token === undefined
        ? "put the token `fleetctl up` handed out in the file fleet-api-token beside the inventory, or name it with fleet_node_api_token_file"
        : "the node was started with another token: `fleetctl up` installs the inventory's token on every Pi",
      detail: { node: n.nodeId, host: n.host, status: 401, nodeCode: (json as { code?: string }).code },
    });
  }
  if (!res.ok) {
    const err = json as { error?: string; code?: string };
    throw new FleetError("NODE_ERROR", `node ${n.nodeId} (${n.host}) refused ${method} ${path}: HTTP ${res.status} ${err.code ?? ""} ${err.error ?? ""}`.trim(), {
      detail: { node: n.nodeId, host: n.host, status: res.status, nodeCode: err.code },
    });
  }
  return json as T;
}

export function getStatus(n: NodeAddress, timeoutMs = 5_000): Promise<NodeStatus> {
  return call<NodeStatus>(n, "GET", "/status", undefined, timeoutMs);
}

/** The entries the node holds on disk (GET /log). */
export function getLog(n: NodeAddress, timeoutMs = 5_000): Promise<NodeLog> {
  return call<NodeLog>(n, "GET", "/log", undefined, timeoutMs);
}

/**
 * The fleet's lessons this node holds, the newest of them with its answer now (GET /lessons?recall=1):
 * the node asks its own weights, a bounded number of questions, cached until its weights change.
 */
export async function getRecall(n: NodeAddress, timeoutMs = 60_000): Promise<RecalledLesson[]> {
  return (await call<{ lessons: RecalledLesson[] }>(n, "GET", "/lessons?recall=1", undefined, timeoutMs)).lessons;
}

export function teach(n: NodeAddress, question: string, answer: string, timeoutMs = 120_000): Promise<TeachAnswer> {
  return call<TeachAnswer>(n, "POST", "/teach", { question, answer }, timeoutMs);
}

export function ask(n: NodeAddress, question: string, timeoutMs = 60_000): Promise<AskAnswer> {
  return call<AskAnswer>(n, "POST", "/ask", { question }, timeoutMs);
}

/** Starts a training job this node coordinates (POST /train; the data set in the body). */
export function postTrain(n: NodeAddress, body: Record<string, unknown>, timeoutMs = 30_000): Promise<{ job: string; state: string }> {
  return call<{ job: string; state: string }>(n, "POST", "/train", body, timeoutMs);
}

/** The training job as this node knows it (GET /train). */
export function getTrain(n: NodeAddress, timeoutMs = 10_000): Promise<TrainStatus> {
  return call<TrainStatus>(n, "GET", "/train", undefined, timeoutMs);
}

/** A counter by any of the names nodes use for it (camelCase in-process, snake_case in metrics). */
export function counter(c: Record<string, number> | undefined, ...names: string[]): number | null {
  if (!c) return null;
  for (const n of names) if (typeof c[n] === "number") return c[n]!;
  return null;
}

/** Milliseconds since the epoch from a number (ms or s) or an ISO string; null when absent. */
export function toMs(t: number | string | null | undefined): number | null {
  if (t === null || t === undefined || t === "") return null;
  if (typeof t === "number") return t < 1e12 ? t * 1000 : t;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}
