// The two parts the node program drives, as the node sees them (docs/contracts.md): the engine's
// Model facade and the UDP overlay. Only wiring.ts binds these to the real classes, so the runtime,
// HTTP API and prompt depend on nothing but these shapes; what the model answers is typed by the
// model itself, so the two cannot drift apart.

import type { Logger } from "pino";
import type { AskOptions, AskResult, MergeResult, TeachOptions, TeachResult } from "../model/model.js";
import type { OverlayStats } from "../overlay/stats.js";
import type { Params } from "../engine/params.js";
import type { PresetName } from "../model/default-model.js";

export type { AskOptions, AskResult, MergeResult, TeachResult };

export interface EngineModel {
  readonly fingerprint: string;
  /** The weights in use, in place: the runtime sets them to base + the log's exact sum. */
  readonly params: Params;
  digest(): string;
  ask(question: string, opts?: AskOptions): Promise<AskResult>;
  /** Fakes may ignore opts.rehearse (the fleet's earlier lessons) and leave the rehearsal fields out. */
  teach(question: string, answer: string, opts?: Pick<TeachOptions, "rehearse">): Promise<TeachResult>;
  /** A pair as a teach trains on it (token ids); training rounds need it, fakes may leave it out. */
  pairTokens?(question: string, answer: string): { promptIds: number[]; answerIds: number[] };
  /** What rounding kept out of broadcast deltas, owed to the next teach; saved with the baseline. */
  carry?(): Float32Array | undefined;
  restoreCarry?(carry: Float32Array): void;
}

export interface IncomingDelta { version: string; from: string; bytes: Uint8Array; sha256: string; metaAt: number }
/** A DeltaFleet-only transfer (an entry bundle, an index), reassembled and verified. */
export interface IncomingPayload extends IncomingDelta { kind: string }
/** What the node did with a delta the overlay delivered: merged it, or held it already (nothing changed). */
export type DeltaOutcome = "applied" | "duplicate";

export interface PeerInfo {
  id: string; address: string; port: number; dialect: string;
  lastSeenMs: number; rttMs?: number | null; announced?: unknown;
  /** A DeltaFleet peer: takes payloads and CONTROL datagrams. */
  ours?: boolean;
  /** What a DeltaFleet peer said about itself in its last PEER_SYNC (e.g. log=<count>.<set>). */
  says?: Record<string, string>;
}
export interface TransferInfo { version: string; from: string; have: number; total: number | undefined; startedAt: number }

export interface OverlayStartOptions {
  nodeId: string;
  port: number;
  /** IPv4 address or interface name. */
  bindAddress?: string;
  /** undefined: the overlay derives it (and leaves it off when static peers are given). */
  broadcastAddress?: string;
  /** Static peers as "host:port". */
  peers: string[];
  dialect: "v1" | "sprint62";
  rateBytesPerSec?: number;
  logger: Logger;
  /** Resolves with what became of the delta; throws (with a string `reason`) to reject it. */
  onDelta: (d: IncomingDelta) => Promise<DeltaOutcome>;
  isApplied: (version: string) => boolean;
  onPayload?: (p: IncomingPayload) => Promise<void>;
  onControl?: (from: string, kind: string, body: Record<string, string>) => void;
  says?: () => Record<string, string>;
  /** Whose transfers get the slots (overlay.ts OverlayOptions.isTrusted); absent: SRCs heard in a PEER_SYNC. */
  isTrusted?: (src: string) => boolean;
  /** The roster (overlay.ts OverlayOptions.isMember): payloads, audiences and the repair pool are for members only. */
  isMember?: (src: string) => boolean;
}

export interface SentTransfer { version: string; bytes: number; chunks: number }

export interface OverlayHandle {
  sendDelta(bytes: Uint8Array): Promise<SentTransfer>;
  /** To our own nodes only (`to`: peer ids; absent: all of them); course nodes never get one. */
  sendPayload(bytes: Uint8Array, opts: { kind: string; to?: readonly string[] }): Promise<SentTransfer>;
  /** One small request to one of our nodes; false when it is not a DeltaFleet peer heard before. */
  sendControl(to: string, kind: string, body: Record<string, string>): Promise<boolean>;
  peers(): PeerInfo[];
  transfers(): TransferInfo[];
  /** The overlay's counters; metrics.ts reads them at scrape time. */
  readonly stats: OverlayStats;
  /** The broadcast address in use (derived or given); undefined when broadcasting is off. */
  readonly broadcastAddress?: string | undefined;
  close(): Promise<void>;
}

/** Everything the node program needs from outside itself; tests pass fakes, cli/run.ts the real ones. */
export interface NodeDeps {
  loadModel(path: string): Promise<EngineModel>;
  /** Path of the preset's model, used when --model is not given. */
  defaultModelPath(preset: PresetName): Promise<string>;
  startOverlay(opts: OverlayStartOptions): Promise<OverlayHandle>;
}
