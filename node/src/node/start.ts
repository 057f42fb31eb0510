// Start-up and shut-down of one node, in order: state folder, model (the last good baseline, else
// --model, else the embedded default), metrics, HTTP API (answers /health at once, /ready later),
// overlay. Shut-down reverses it and leaves the state folder whole.

import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isLoopback } from "./api-token.js";
import { createHttpApi, listen } from "./http-api.js";
import type { NodeLogger } from "./logger.js";
import { createMetrics, type NodeMetrics } from "./metrics.js";
import type { NodeOptions } from "./options.js";
import { NodeRuntime } from "./runtime.js";
import type { EngineModel, NodeDeps } from "./seams.js";
import { StateDir } from "./state-dir.js";

export interface RunningNode {
  runtime: NodeRuntime;
  metrics: NodeMetrics;
  http: AddressInfo;
  /** Where the model came from: "state" (saved baseline), "state.prev", or the model path. */
  modelSource: string;
  close(): Promise<void>;
}

export async function startNode(opts: NodeOptions, deps: NodeDeps, nlog: NodeLogger): Promise<RunningNode> {
  const log = nlog.logger.child({ mod: "node" });
  const t0 = performance.now();
  const savePauseMs = Number(process.env.FLEET_TEST_SAVE_PAUSE_MS ?? 0) || undefined;
  const state = await StateDir.open({ dir: opts.stateDir, nodeId: opts.nodeId, logger: nlog.logger, savePauseMs });

  let model: EngineModel | undefined;
  let modelSource = "";
  for (const c of await state.candidates()) {
    try {
      model = await deps.loadModel(c.baselineFile);
      state.adopt(c);
      if (c.carryFile) restoreCarry(model, state, c.carryFile);
      modelSource = c.manifest === "state.json" ? "state" : "state.prev";
      break;
    } catch (e) {
      state.report(`${c.baselineFile}: the engine cannot load it (${(e as Error).message})`);
    }
  }
  const fresh = model === undefined;
  if (!model) {
    modelSource = opts.model ?? (await deps.defaultModelPath());
    model = await deps.loadModel(modelSource);
  }

  let runtime: NodeRuntime | undefined;
  const metrics = createMetrics({
    overlayStats: () => runtime?.overlayStats,
    peers: () => runtime?.peers().length ?? 0,
    transfersInFlight: () => runtime?.transfers().length ?? 0,
    appliedDeltas: () => state.applied.size,
    model: () => runtime && { node: opts.nodeId, fingerprint: runtime.model.fingerprint, digest: runtime.digest },
  });
  runtime = new NodeRuntime({ nodeId: opts.nodeId, model, state, logger: nlog.logger, mergeWeight: opts.mergeWeight, deltaErrorReason: deps.deltaErrorReason, metrics });
  // A fresh state folder gets the starting weights as generation 1, so a restart never depends on --model again.
  if (fresh) await state.commit(model);

  const rt = runtime;
  const server: Server = createHttpApi({
    logger: nlog.logger,
    token: opts.apiToken,
    onRefused: (why) => metrics.httpRefused.labels(why).inc(),
    backend: {
      get ready() { return rt.ready; },
      status: () => rt.status(),
      ask: (q, o) => rt.ask(q, o),
      teach: (q, a) => rt.teach(q, a),
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
      logger: nlog.logger, onDelta: rt.onDelta, isApplied: rt.isApplied,
    });
    rt.attachOverlay(overlay);
    broadcast = overlay.broadcastAddress;
  } catch (e) {
    server.close();
    throw new Error(`overlay: cannot start on UDP ${opts.bindAddress}:${opts.port} (${(e as Error).message}); is another node using the port? pick another with --port`);
  }

  log.info({
    ev: "started", id: opts.nodeId, udp: `${opts.bindAddress}:${opts.port}`, broadcast: broadcast ?? null,
    peers: opts.peers.map((p) => `${p.host}:${p.port}`), dialect: opts.dialect, http: `${http.address}:${http.port}`, apiToken: opts.apiToken !== undefined,
    model: modelSource, fingerprint: model.fingerprint, digest: rt.digest, generation: state.generation,
    applied: state.applied.size, stateDir: opts.stateDir, readyMs: Math.round(performance.now() - t0),
  }, "node started");

  let closing: Promise<void> | undefined;
  return {
    runtime: rt, metrics, http, modelSource,
    close: () => closing ??= (async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rt.close();
      log.info({ ev: "stopped", digest: rt.digest, generation: state.generation, applied: state.applied.size }, "node stopped, state saved");
    })(),
  };
}

/** Gives the model back the carry its last teach left; without it the next teach only loses rounding dust. */
function restoreCarry(model: EngineModel, state: StateDir, file: string): void {
  if (!model.restoreCarry) return;
  try {
    const b = readFileSync(file);
    const carry = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    model.restoreCarry(carry);
    state.adoptCarry(carry);
  } catch (e) {
    state.report(`${file}: carry not restored (${(e as Error).message})`);
  }
}
