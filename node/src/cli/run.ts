// `fleet-node <node-id>`: runs one node (the counterpart of the course's `python3 prompt_node.py
// Pi-1`). With a terminal on stdin, the course's prompt; without one (Docker, systemd), a daemon that
// stops cleanly on SIGTERM.

import { Command, Option } from "commander";
import { createLogger } from "../node/logger.js";
import {
  DEFAULT_BIND, DEFAULT_DIALECT, DEFAULT_HTTP, DEFAULT_LOG_LEVEL, DEFAULT_MERGE_WEIGHT, DEFAULT_PRESET, DEFAULT_RATE_BYTES_PER_SEC, DEFAULT_UDP_PORT,
  defaultStateDir, ENV, formatRate, resolveNodeOptions, UsageError, type RawNodeOptions,
} from "../node/options.js";
import { runPrompt } from "../node/prompt.js";
import { PRESET_NAMES } from "../model/default-model.js";
import type { NodeDeps } from "../node/seams.js";
import { startNode, type RunningNode } from "../node/start.js";

/** Upper bound on a clean stop; after it the process exits anyway (the state is saved per commit). */
const STOP_DEADLINE_MS = 4_000;

/** A flag whose help states its default and variable; a default that is a value comes from its constant, never typed here. */
const opt = (flags: string, what: string, dflt: string | number, env: string): Option => new Option(flags, `${what} (default: ${dflt}; env ${env})`);

/** Configures `program` as the node runner; `deps` are the engine and overlay (tests may not swap them: e2e runs the binary). */
export function configureRun(program: Command, deps: () => Promise<NodeDeps>): Command {
  return program
    .argument("[node-id]", `this node's id on the overlay, e.g. Pi-1 (env ${ENV.nodeId})`)
    .addOption(opt("--port <port>", "UDP port of the overlay", DEFAULT_UDP_PORT, ENV.port))
    .addOption(opt("--bind <addr|iface>", "IPv4 address or interface (wlan0, eth0) the overlay binds; it still hears that network's broadcasts", DEFAULT_BIND, ENV.bind))
    .addOption(opt("--broadcast <addr>", "broadcast address for discovery and deltas, or none", "derived from the interface; off with --peer", ENV.broadcast))
    .addOption(opt("--peer <host:port>", "a peer reached by unicast; repeatable", "none", `${ENV.peer}, comma-separated`)
      .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
    .addOption(opt("--dialect <v1|sprint62>", "wire dialect this node speaks (it hears both)", DEFAULT_DIALECT, ENV.dialect))
    .addOption(opt("--http <host:port>", "HTTP API address; 0.0.0.0:8477 opens it to the LAN", DEFAULT_HTTP, ENV.http))
    .addOption(opt("--api-token-file <file>", "file holding the bearer token that /status, /ask and /teach need from other machines (not world-readable)",
      "none: those answer only on loopback", ENV.apiTokenFile))
    .addOption(opt("--roster <file>", "the fleet's roster (lines \"<node-id> <base64 key>\", from fleet-node identity): only its members' signed entries change the model; re-read when it changes",
      "none: trust off, every delta merged", ENV.roster))
    .addOption(opt("--accept-unsigned", "with --roster, merge unsigned deltas from course nodes too (a mixed classroom)", "off", `${ENV.acceptUnsigned}=1`))
    .addOption(opt("--state-dir <dir>", "state folder: the fleet log (entries, checkpoints) the weights are derived from", defaultStateDir("<node-id>"), ENV.stateDir))
    .addOption(opt("--model <path>", "model folder or .pt to start from when the state folder has none", "the preset's", ENV.model))
    .addOption(opt("--preset <name>", `the model to start from without --model: ${PRESET_NAMES.join(" or ")} (fleet-node model init --preset); the same on every node of a fleet`, DEFAULT_PRESET, ENV.preset))
    .addOption(opt("--merge-weight <w>", "weight of every log entry in the weights (base + w × sum; the same on every node of a fleet)", DEFAULT_MERGE_WEIGHT, ENV.mergeWeight))
    .addOption(opt("--rate <bytes/s>", "send rate limit in bytes per second (500k, 2M)", formatRate(DEFAULT_RATE_BYTES_PER_SEC), ENV.rate))
    .addOption(opt("--log-level <level>", "fatal, error, warn, info, debug, trace or silent", DEFAULT_LOG_LEVEL, ENV.logLevel))
    .addOption(opt("--log-format <json|pretty>", "log lines as JSON or for people", "pretty on a terminal, else json", ENV.logFormat))
    .addOption(opt("--log-file <file>", "append the whole log there as JSON lines; the terminal then shows only warnings and errors", "none", ENV.logFile))
    .addHelpText("after", `
Flags win over FLEET_* variables, which win over defaults. With a terminal on stdin the node runs the
course's prompt (t: teach, q: ask and correct, x: exit) and shows one line per event, with only the
log's warnings and errors (the whole log goes to --log-file); without one it runs until SIGTERM.
HTTP: GET /health /ready /status /metrics, POST /ask {question}, POST /teach {question, answer}.
From another machine, /status, /ask and /teach need "Authorization: Bearer <token>" (--api-token-file);
loopback needs none, and /health, /ready and /metrics are open to all.
Each node has a key (<state-dir>/identity.key, created at first start); \`fleet-node identity\` prints
its roster line. With --roster, entries not signed by a member, or larger than one teach can make,
are refused and counted by reason (/status trust, fleet_entries_refused_total).

Examples:
  fleet-node Pi-1
  fleet-node Pi-2 --port 5001 --peer 127.0.0.1:5000 --http 127.0.0.1:8478 --state-dir /tmp/pi2`)
    .action(async (nodeId: string | undefined, raw: RawNodeOptions) => {
      const options = resolveNodeOptions(nodeId, raw);
      const interactive = Boolean(process.stdin.isTTY);
      const nlog = createLogger({
        nodeId: options.nodeId, level: options.logLevel, format: options.logFormat, file: options.logFile,
        sinkLevel: interactive || options.logFile ? "warn" : undefined,
      });
      let node: RunningNode;
      try {
        node = await startNode(options, await deps(), nlog);
      } catch (e) {
        nlog.logger.fatal({ ev: "start_failed", err: (e as Error).message }, "node could not start");
        process.stderr.write(`fleet-node ${options.nodeId}: ${(e as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      const { runtime } = node;
      const banner = `${options.nodeId}: UDP ${options.bindAddress}:${options.port} (${options.dialect}), HTTP http://${node.http.address}:${node.http.port}, ` +
        `model ${runtime.model.fingerprint} (digest ${runtime.digest.slice(0, 12)}, from ${node.modelSource}), state ${options.stateDir}`;
      if (interactive) process.stdout.write(banner + "\n");

      let stopping = false;
      const stop = async (why: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        const force = setTimeout(() => {
          process.stderr.write(`fleet-node ${options.nodeId}: did not stop within ${STOP_DEADLINE_MS} ms after ${why}; exiting\n`);
          process.exit(1);
        }, STOP_DEADLINE_MS);
        force.unref();
        await node.close();
        clearTimeout(force);
      };
      const stopped = new Promise<void>((resolve) => {
        for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(sig, () => void stop(sig).then(resolve));
      });
      if (interactive) {
        await Promise.race([
          runPrompt({
            backend: runtime, input: process.stdin, output: process.stdout,
            setLogSink: (s) => (s ? nlog.setSink(s) : nlog.resetSink()),
          }),
          stopped,
        ]);
        await stop("exit");
        process.stdout.write("Bye.\n");
        // stdin in raw mode keeps the loop alive; the state is saved, so leave now.
        process.exit(0);
      }
      await stopped;
      nlog.close();
    });
}

export { UsageError };
