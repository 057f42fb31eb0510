// The node's settings: from flags, else FLEET_* variables, else defaults; checked all at once so a
// bad value stops start-up with a message naming the flag and what it accepts (exit 2).

import { isIPv4 } from "node:net";
import { networkInterfaces } from "node:os";
import { resolve } from "node:path";
import { DEFAULT_RATE_BYTES_PER_SEC } from "../overlay/overlay.js";
import { readApiToken } from "./api-token.js";
import { LOG_LEVELS, type LogFormat, type LogLevel } from "./logger.js";
import { isNodeId, NODE_ID_RULE } from "../util/ids.js";
import { isPresetName, PRESET_NAMES, type PresetName } from "../model/default-model.js";

// The defaults, as --help states them (cli/run.ts builds its text from these).
export const DEFAULT_UDP_PORT = 5000;
export const DEFAULT_BIND = "0.0.0.0";
export const DEFAULT_HTTP = "127.0.0.1:8477";
export const DEFAULT_DIALECT = "v1";
export const DEFAULT_MERGE_WEIGHT = 1;
export { DEFAULT_RATE_BYTES_PER_SEC };
export const DEFAULT_LOG_LEVEL: LogLevel = "info";
export const DEFAULT_PRESET: PresetName = "tiny-gpt2";
/** Relative to the working directory. */
export const defaultStateDir = (nodeId: string): string => `./state/${nodeId}`;

export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(readonly problems: string[]) { super(problems.join("\n")); }
}

/** Flag values as commander hands them over (strings; undefined when absent). */
export interface RawNodeOptions {
  port?: string; bind?: string; broadcast?: string; peer?: string[]; dialect?: string; http?: string;
  stateDir?: string; model?: string; preset?: string; mergeWeight?: string; rate?: string; logLevel?: string; logFormat?: string; logFile?: string;
  apiTokenFile?: string;
  roster?: string;
  /** A boolean flag: commander gives true when present. */
  acceptUnsigned?: boolean | string;
}

export interface HostPort { host: string; port: number }

export interface NodeOptions {
  nodeId: string;
  port: number;
  /** Address the UDP socket binds (0.0.0.0 unless --bind). */
  bindAddress: string;
  /** The interface --bind named, if it named one. */
  bindInterface: string | undefined;
  broadcastAddress: string | undefined;
  peers: HostPort[];
  dialect: "v1" | "sprint62";
  http: HostPort;
  /** The bearer token non-loopback clients need for /status, /ask and /teach (read from --api-token-file at start). */
  apiToken: string | undefined;
  stateDir: string;
  model: string | undefined;
  /** The model preset started from when there is no --model (the same on every node of a fleet). */
  preset: PresetName;
  mergeWeight: number;
  rateBytesPerSec: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Where the whole log goes (JSON lines); the terminal then shows only warnings and errors. */
  logFile: string | undefined;
  /** The fleet's roster file: trust is on, only its members' signed entries change the model. Undefined: trust off. */
  roster: string | undefined;
  /** With a roster, merge unsigned course deltas too (a classroom with course nodes). */
  acceptUnsigned: boolean;
}

/** Every setting's environment variable, for --help and for reading. */
export const ENV: Record<keyof RawNodeOptions | "nodeId", string> = {
  nodeId: "FLEET_NODE_ID", port: "FLEET_PORT", bind: "FLEET_BIND", broadcast: "FLEET_BROADCAST", peer: "FLEET_PEER",
  dialect: "FLEET_DIALECT", http: "FLEET_HTTP", stateDir: "FLEET_STATE_DIR", model: "FLEET_MODEL", preset: "FLEET_PRESET",
  mergeWeight: "FLEET_MERGE_WEIGHT", rate: "FLEET_RATE", logLevel: "FLEET_LOG_LEVEL", logFormat: "FLEET_LOG_FORMAT", logFile: "FLEET_LOG_FILE",
  apiTokenFile: "FLEET_API_TOKEN_FILE", roster: "FLEET_ROSTER", acceptUnsigned: "FLEET_ACCEPT_UNSIGNED",
};

type Env = Record<string, string | undefined>;

export function resolveNodeOptions(nodeIdArg: string | undefined, raw: RawNodeOptions, env: Env = process.env, stdoutIsTty = Boolean(process.stdout.isTTY)): NodeOptions {
  const problems: string[] = [];
  const pick = (k: Exclude<keyof RawNodeOptions, "acceptUnsigned">): string | undefined => {
    const v = raw[k];
    if (typeof v === "string" && v !== "") return v;
    const e = env[ENV[k]];
    return e === undefined || e === "" ? undefined : e;
  };

  const nodeId = nodeIdArg ?? (env.FLEET_NODE_ID || undefined);
  if (nodeId === undefined) problems.push("missing <node-id>: give it as the first argument (fleet-node Pi-1) or in FLEET_NODE_ID");
  else if (!isNodeId(nodeId)) problems.push(`node id "${nodeId}" must be ${NODE_ID_RULE}`);

  const port = parsePort(pick("port") ?? String(DEFAULT_UDP_PORT), "--port", problems);

  let bindAddress = DEFAULT_BIND;
  let bindInterface: string | undefined;
  // Left undefined, the overlay derives it from the bound interface (off when --peer is given).
  const broadcastAddress = pick("broadcast");
  const bind = pick("bind");
  if (bind !== undefined) {
    const ifaces = networkInterfaces();
    if (isIPv4(bind)) {
      bindAddress = bind;
      bindInterface = Object.entries(ifaces).find(([, as]) => as?.some((a) => a.family === "IPv4" && a.address === bind))?.[0];
    } else if (ifaces[bind]) {
      const a = ifaces[bind]!.find((x) => x.family === "IPv4");
      if (!a) problems.push(`--bind ${bind}: the interface has no IPv4 address`);
      else bindAddress = a.address;
      bindInterface = bind;
    } else {
      problems.push(`--bind ${bind}: neither an IPv4 address nor an interface of this machine (have: ${Object.keys(ifaces).join(", ")})`);
    }
  }
  if (broadcastAddress !== undefined && broadcastAddress !== "none" && !isIPv4(broadcastAddress)) {
    problems.push(`--broadcast ${broadcastAddress}: must be an IPv4 address such as 10.122.255.255, or none`);
  }

  const peerValues = raw.peer && raw.peer.length > 0 ? raw.peer : (env.FLEET_PEER ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const peers: HostPort[] = [];
  for (const p of peerValues) {
    const hp = parseHostPort(p, undefined);
    if (!hp || hp.port === 0) problems.push(`--peer ${p}: must be host:port, such as 10.122.0.12:5000`);
    else peers.push(hp);
  }

  const dialect = pick("dialect") ?? DEFAULT_DIALECT;
  if (dialect !== "v1" && dialect !== "sprint62") problems.push(`--dialect ${dialect}: must be v1 or sprint62`);

  const httpRaw = pick("http") ?? DEFAULT_HTTP;
  const http = parseHostPort(httpRaw, "127.0.0.1");
  if (!http) problems.push(`--http ${httpRaw}: must be host:port or a port (127.0.0.1:8477; 0.0.0.0:8477 opens it to the LAN)`);

  const apiTokenFile = pick("apiTokenFile");
  let apiToken: string | undefined;
  if (apiTokenFile !== undefined) {
    try {
      apiToken = readApiToken(resolve(apiTokenFile));
    } catch (e) {
      problems.push(`--api-token-file: ${(e as Error).message}`);
    }
  }

  const mw = pick("mergeWeight") ?? String(DEFAULT_MERGE_WEIGHT);
  const mergeWeight = Number(mw);
  if (!Number.isFinite(mergeWeight) || mergeWeight <= 0 || mergeWeight > 10) problems.push(`--merge-weight ${mw}: must be a number above 0 and at most 10 (1 merges a delta as sent)`);

  const rateRaw = pick("rate") ?? formatRate(DEFAULT_RATE_BYTES_PER_SEC);
  const rateBytesPerSec = parseRate(rateRaw);
  if (rateBytesPerSec === undefined) problems.push(`--rate ${rateRaw}: must be bytes per second, a positive number (suffixes k and M allowed: 500k)`);

  const logLevel = (pick("logLevel") ?? DEFAULT_LOG_LEVEL) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`--log-level ${logLevel}: must be one of ${LOG_LEVELS.join(", ")}`);
  const logFormat = (pick("logFormat") ?? (stdoutIsTty ? "pretty" : "json")) as LogFormat;
  if (logFormat !== "json" && logFormat !== "pretty") problems.push(`--log-format ${String(logFormat)}: must be json or pretty`);

  const presetRaw = pick("preset");
  if (presetRaw !== undefined && !isPresetName(presetRaw)) problems.push(`--preset ${presetRaw}: must be one of ${PRESET_NAMES.join(", ")}`);
  if (presetRaw !== undefined && pick("model") !== undefined) problems.push(`--preset ${presetRaw} and --model ${pick("model")} both name the model to start from: give one`);

  const roster = pick("roster");
  let acceptUnsigned = raw.acceptUnsigned === true;
  const au = env[ENV.acceptUnsigned];
  if (!acceptUnsigned && au !== undefined && au !== "") {
    if (au === "1" || au === "0") acceptUnsigned = au === "1";
    else problems.push(`${ENV.acceptUnsigned}=${au}: must be 1 (merge unsigned course deltas) or 0`);
  }
  if (acceptUnsigned && roster === undefined) problems.push("--accept-unsigned needs --roster: without a roster every delta is merged already");

  if (problems.length) throw new UsageError(problems);
  return {
    nodeId: nodeId!, port: port!, bindAddress, bindInterface, broadcastAddress, peers,
    dialect: dialect as NodeOptions["dialect"], http: http!, apiToken,
    stateDir: resolve(pick("stateDir") ?? defaultStateDir(nodeId!)),
    model: pick("model"), preset: presetRaw !== undefined && isPresetName(presetRaw) ? presetRaw : DEFAULT_PRESET, mergeWeight, rateBytesPerSec: rateBytesPerSec!, logLevel, logFormat,
    logFile: pick("logFile") === undefined ? undefined : resolve(pick("logFile")!),
    roster: roster === undefined ? undefined : resolve(roster), acceptUnsigned,
  };
}

function parsePort(s: string, flag: string, problems: string[]): number | undefined {
  const n = /^\d{1,5}$/.test(s) ? Number(s) : NaN;
  if (!(n >= 1 && n <= 65535)) { problems.push(`${flag} ${s}: must be a port number from 1 to 65535`); return undefined; }
  return n;
}

/** "host:port", or ":port"/"port" when a default host is given. */
export function parseHostPort(s: string, defaultHost: string | undefined): HostPort | undefined {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const host = m[1] || defaultHost;
  const port = Number(m[2]);
  // Port 0 (any free port) only makes sense for a listener: callers that need a peer reject it.
  if (!host || !(port >= 0 && port <= 65535) || /\s/.test(host)) return undefined;
  return { host, port };
}

/** Bytes per second as --rate takes them: 12000000 → "12M", 500000 → "500k". */
export function formatRate(n: number): string {
  return n % 1e6 === 0 ? `${n / 1e6}M` : n % 1e3 === 0 ? `${n / 1e3}k` : String(n);
}

function parseRate(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] === "" ? 1 : m[2]!.toLowerCase() === "k" ? 1e3 : 1e6);
  return n > 0 ? Math.round(n) : undefined;
}
