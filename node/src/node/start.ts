// Start-up and shut-down of one node, in order: state folder and identity key, roster (a bad line
// stops here), base model (--model, else the embedded default), its fleet log (weights = base + the
// entries' exact sum), metrics, HTTP API (answers /health at once, /ready later), overlay, roster
// watch. Shut-down reverses it and leaves the state folder whole.

import type { Server } from "node:http";
import { basename } from "node:path";
import type { Logger } from "pino";
import type { Writer } from "../log/store.js";
import { writeFileAtomicAsync } from "../util/atomic-write.js";
import type { AddressInfo } from "node:net";
import { isLoopback } from "./api-token.js";
import { openLog } from "./held-weights.js";
import { createHttpApi, listen } from "./http-api.js";
import type { NodeLogger } from "./logger.js";
import { createMetrics, type NodeMetrics } from "./metrics.js";
import { loadPageAssets, type PageAsset } from "./page-assets.js";
import { LessonRecall } from "./recall.js";
import type { NodeOptions } from "./options.js";
import { NodeRuntime } from "./runtime.js";
import type { NodeDeps } from "./seams.js";
import { StateFolder } from "./state-folder.js";
import { TrainJobs } from "./train-job.js";
import { parseTrainRequest } from "./train-request.js";
import { TrustGate } from "../trust/gate.js";
import { loadOrCreateIdentity } from "../trust/keys.js";
import { readRosterFile, watchRosterFile, type RosterWatch } from "../trust/roster-file.js";
import type { Roster } from "../trust/roster.js";
import { signEntry } from "../trust/signature.js";

export interface RunningNode {
  runtime: NodeRuntime;
  metrics: NodeMetrics;
  http: AddressInfo;
  /** The base model's path: --model, else the embedded default. */
  modelSource: string;
  close(): Promise<void>;
}

export async function startNode(opts: NodeOptions, deps: NodeDeps, nlog: NodeLogger): Promise<RunningNode> {
  const log = nlog.logger.child({ mod: "node" });
  const t0 = performance.now();
  const folder = await StateFolder.open(opts.stateDir, nlog.logger);
  // Every node has a key from its first start, roster or not: enrolling it later needs no restart of
  // its teaches' format, and `fleet-node identity` prints the same key.
  const identity = loadOrCreateIdentity(opts.stateDir);
  if (identity.created) log.info({ ev: "identity_created", file: identity.file, key: identity.publicB64 }, "created this node's key; its roster line is in fleet-node identity");
  const rosterFile = opts.roster === undefined ? undefined : readRosterFile(opts.roster);
  const checkEnrolled = (r: Roster): void => {
    if (r.members.get(opts.nodeId)?.b64 === identity.publicB64) return;
    log.warn({ ev: "not_enrolled", roster: opts.roster, key: identity.publicB64 },
      `THIS NODE IS NOT ON THE ROSTER with its key: its teaches will be refused by every other node; add "${opts.nodeId} ${identity.publicB64}" to ${opts.roster}`);
  };
  if (rosterFile) checkEnrolled(rosterFile.roster);
  const modelSource = opts.model ?? (await deps.defaultModelPath(opts.preset));
  const model = await deps.loadModel(modelSource);
  const savePauseMs = Number(process.env.FLEET_TEST_SAVE_PAUSE_MS ?? 0) || undefined;
  const ledger = await openLog(model, opts.stateDir, savePauseMs ? { writer: pausingWriter(savePauseMs, log) } : {});
  for (const p of ledger.problems) log.warn({ ev: "state_problem", problem: p, dir: opts.stateDir }, p);
  const carry = folder.readCarry(model.params.flat.length);
  if (carry && model.restoreCarry) model.restoreCarry(carry);

  // Measured once, on the base weights: what this node says to a training job's coordinator (tsp=).
  const trainSpeed = model.pairTokens ? await TrainJobs.measureSpeed(model.params, (p) => model.pairTokens!(p.question, p.answer)) : undefined;

  const trust = new TrustGate({ roster: rosterFile?.roster, acceptUnsigned: opts.acceptUnsigned, params: model.params.flat.length, stateDir: opts.stateDir });
  for (const p of trust.reputation.problems) log.warn({ ev: "state_problem", problem: p, dir: opts.stateDir }, p);

  let runtime: NodeRuntime | undefined;
  let recall: LessonRecall | undefined;
  const metrics = createMetrics({
    overlayStats: () => runtime?.overlayStats,
    peers: () => runtime?.peers().length ?? 0,
    transfersInFlight: () => runtime?.transfers().length ?? 0,
    appliedDeltas: () => ledger.size,
    model: () => runtime && { node: opts.nodeId, fingerprint: runtime.model.fingerprint, digest: runtime.digest },
    log: () => runtime?.logStatus(),
    trust: () => ({ refused: trust.refused, admitted: trust.admitted, ignored: trust.ignoredCount() }),
    recall: () => recall?.counts(),
  });
  runtime = new NodeRuntime({
    nodeId: opts.nodeId, model, ledger, folder, logger: nlog.logger, mergeWeight: opts.mergeWeight, metrics,
    trust, sign: (e) => signEntry(e, identity.privateKey), ...(trainSpeed === undefined ? {} : { trainSpeed }),
    trainRoundGapMs: Number(process.env.FLEET_TEST_ROUND_GAP_MS ?? 0) || undefined,
  });

  const rt = runtime;
  const lessonRecall = recall = new LessonRecall({ digest: () => rt.digest, lessons: () => rt.lessons(), ask: (q) => rt.ask(q) });
  let page: ReadonlyMap<string, PageAsset> | Error;
  try {
    page = loadPageAssets();
  } catch (e) {
    // The API and the fleet matter more than the page: the node runs, and `/` says what is wrong.
    page = e as Error;
    log.error({ ev: "page_unavailable", err: page.message }, `the classroom page cannot be served: ${page.message}`);
  }
  const server: Server = createHttpApi({
    logger: nlog.logger,
    token: opts.apiToken,
    onRefused: (why) => metrics.httpRefused.labels(why).inc(),
    page,
    backend: {
      get ready() { return rt.ready; },
      status: () => rt.status(),
      log: () => ({ base: ledger.baseId, entries: ledger.size, set: ledger.set, names: ledger.names() }),
      lessons: () => rt.lessons(),
      recall: () => lessonRecall.recall(),
      ask: (q, o) => rt.ask(q, o),
      teach: (q, a) => rt.teach(q, a),
      train: (body) => rt.startTraining(parseTrainRequest(body)),
      trainStatus: () => rt.train.status(),
      metricsText: () => metrics.text(),
      metricsContentType: metrics.registry.contentType,
    },
  });
  let http: AddressInfo;
  try {
    http = await listen(server, opts.http.host, opts.http.port);
  } catch (e) {
    throw new Error(`HTTP API: cannot listen on ${opts.http.host}:${opts.http.port} (${(e as Error).message}); pick another with --http host:port`);
  }

  if (opts.apiToken === undefined && !isLoopback(http.address)) {
    log.warn({ ev: "http_no_token", http: `${http.address}:${http.port}` },
      "the HTTP API listens beyond loopback without --api-token-file: other machines get only /health, /ready and /metrics");
  }

  let broadcast: string | undefined;
  try {
    const overlay = await deps.startOverlay({
      nodeId: opts.nodeId, port: opts.port, bindAddress: opts.bindAddress, broadcastAddress: opts.broadcastAddress,
      peers: opts.peers.map((p) => `${p.host}:${p.port}`), dialect: opts.dialect, rateBytesPerSec: opts.rateBytesPerSec,
      logger: nlog.logger, onDelta: rt.onDelta, isApplied: rt.isApplied, onPayload: rt.onPayload, onControl: rt.onControl, says: rt.says,
      // With a roster, its members get the transfer slots, our entries and the repair allowances;
      // anyone else shares the strangers' pool and earns repair by its NAK bytes only.
      ...(trust.isOn ? { isMember: (src: string) => trust.isMember(src) } : {}),
    });
    rt.attachOverlay(overlay);
    broadcast = overlay.broadcastAddress;
  } catch (e) {
    server.close();
    throw new Error(`overlay: cannot start on UDP ${opts.bindAddress}:${opts.port} (${(e as Error).message}); is another node using the port? pick another with --port`);
  }

  let rosterWatch: RosterWatch | undefined;
  if (rosterFile) {
    rosterWatch = watchRosterFile(opts.roster!, rosterFile.text, {
      change: (r) => {
        trust.setRoster(r);
        rt.rosterChanged();
        log.info({ ev: "roster_changed", roster: opts.roster, members: r.members.size, revoked: [...r.revoked.values()].reduce((n, k) => n + k.length, 0) }, "roster re-read");
        checkEnrolled(r);
      },
      error: (message) => log.error({ ev: "roster_refused", roster: opts.roster, err: message }, message),
    });
  }

  log.info({
    ev: "started", id: opts.nodeId, udp: `${opts.bindAddress}:${opts.port}`, broadcast: broadcast ?? null,
    peers: opts.peers.map((p) => `${p.host}:${p.port}`), dialect: opts.dialect, http: `${http.address}:${http.port}`, apiToken: opts.apiToken !== undefined,
    model: modelSource, fingerprint: model.fingerprint, base: ledger.baseId, digest: rt.digest,
    entries: ledger.size, set: ledger.set.slice(0, 16), stateDir: opts.stateDir, readyMs: Math.round(performance.now() - t0),
    key: identity.publicB64, roster: opts.roster ?? null, members: trust.roster?.members.size ?? null, acceptUnsigned: opts.acceptUnsigned,
  }, "node started");

  let closing: Promise<void> | undefined;
  return {
    runtime: rt, metrics, http, modelSource,
    close: () => closing ??= (async () => {
      rosterWatch?.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rt.close();
      log.info({ ev: "stopped", digest: rt.digest, entries: ledger.size }, "node stopped, state saved");
    })(),
  };
}

/**
 * Test hook (FLEET_TEST_SAVE_PAUSE_MS): each file of an entry is written, then the writer pauses
 * before the next, so a test can kill -9 a node between an entry's delta and its record.
 */
function pausingWriter(ms: number, log: Logger): Writer {
  return async (path, data) => {
    await writeFileAtomicAsync(path, data);
    log.info({ ev: "save_paused", file: basename(path), ms }, "test hook: file written, pausing before the next");
    await new Promise((r) => setTimeout(r, ms));
  };
}
