// A bare overlay in its own process, for tests and benchmarks that drive real processes (other
// namespaces, the Python course peer, bench/sync). One JSON object per line on stdout.
//
//   node dist/test/support/overlay-agent.js --id n1 [--port 5000] [--bind 0.0.0.0|addr|iface]
//        [--broadcast addr|none] [--peer host:port]... [--dialect v1|sprint62] [--rate bytes/s]
//        [--out dir] [--send file]... [--send-after-ms 5000] [--no-binary] [--no-coded-repair] [--max-datagram 1472]
//        [--fast]                       (test timings: NAK quiet 150 ms, sync 1 s, give-up in ~6 s,
//                                        binary frames at once instead of after 11 s of listening)
//        [--timing name=ms]...          (any OverlayTimings field, e.g. --timing nakQuietMs=300)
//        [--quiet]                      (no per-NAK events: QUIET_EVENTS)
//
// Several agents on one machine: distinct ports and --peer lists (--bind 127.0.0.1), or all on one
// port with --bind 0.0.0.0 --broadcast 127.255.255.255 (Linux gives every socket the broadcast;
// see README.md for why unicast to a shared port is sent as broadcast).
// --out: every verified delta is written as <dir>/<version>.pt (tmp, rename: readers never see a
//   partial file; no fsync, see writeAtomic).
// --send: announced once a peer has been heard (and 300 ms more, so a burst of PEER_SYNCs settles),
//   or after --send-after-ms if nobody is heard; several --send go out one after another.
// Events ("ev"): ready, peer, peer-pruned, meta {..., cpuUs}, announced {..., cpuUs}, sending {version, sent, total}
//   (every progressLogMs of a long first pass), sent {..., cpuUs}, repaired, nak, delta-received
//   {version, from, sha256, bytes, ms (META seen -> file written), path, writeMs, cpuUs}, delta-rejected, gave-up,
//   send-done {version, bytes, chunks, sha256, chunkBytes, peers}, stats
//   (on exit), error. SIGTERM/SIGINT: prints stats, closes the socket, exits 0.

import { renameSync, writeFileSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Overlay, type OverlayTimings } from "../../node/src/overlay/overlay.js";

/** A peer heard: wait this much longer before sending so the others' PEER_SYNC answers arrive too. */
const SEND_SETTLE_MS = 300;
const DEFAULT_SEND_AFTER_MS = 5_000;

const FAST_TIMINGS: Partial<OverlayTimings> = {
  binaryAfterMs: 0, syncIntervalMs: 1_000, nakQuietMs: 150, repairQuietMs: 80, nakBackoffMs: 150, nakBackoffMaxMs: 1_000, nakMaxRounds: 6, metaWaitMs: 3_000,
};

/** `t`: epoch ms with sub-ms digits (high-resolution clock), when the event happened in this process. */
function emit(ev: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ ev, t: performance.timeOrigin + performance.now(), ...fields }) + "\n");
}

/**
 * Left out with --quiet: one line per NAK datagram, ~30 per receiver per delta at 20 % loss. On a
 * 2-core box running 9 agents (bench:sync N=8), writing them to a pipe and waking the reader to parse
 * them took CPU from the transfer being timed (receivers' median time ~20 % longer over 4 runs).
 */
const QUIET_EVENTS = new Set(["nak"]);

/** Events that also say how much CPU this process has used (see onEvent below). */
const CPU_EVENTS = new Set(["meta", "announced", "sent"]);

function cpuUs(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

/**
 * Written to a tmp name and renamed, so a reader finds the whole file or none. Not fsync'd: the file
 * is a copy for the process reading --out (tests, bench:sync), not state that must survive a power
 * cut (the node program persists its baseline with fsync). uftpd, which bench:sync times to the same
 * point, writes and renames without one too (its binary links no fsync/fdatasync); on bench:sync's
 * disk an fsync put 2-25 ms into each receiver's time, more with 8 at once.
 * Synchronous: a 404 KB delta is a ~0.3 ms copy into the page cache, while fs/promises makes it four
 * round trips through libuv's thread pool (open, write, close, rename), each waiting for a core:
 * with 9 agents on 2 cores (bench:sync N=8) that took 3-15 ms per receiver.
 */
function writeAtomic(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      id: { type: "string" },
      port: { type: "string", default: "5000" },
      bind: { type: "string", default: "0.0.0.0" },
      broadcast: { type: "string" },
      peer: { type: "string", multiple: true, default: [] },
      dialect: { type: "string", default: "v1" },
      rate: { type: "string" },
      out: { type: "string" },
      send: { type: "string", multiple: true, default: [] },
      "send-after-ms": { type: "string", default: String(DEFAULT_SEND_AFTER_MS) },
      "no-binary": { type: "boolean", default: false },
      "no-coded-repair": { type: "boolean", default: false },
      "max-datagram": { type: "string" },
      fast: { type: "boolean", default: false },
      timing: { type: "string", multiple: true, default: [] },
      quiet: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (!values.id) throw new Error("agent: --id <node id> is required");
  if (values.dialect !== "v1" && values.dialect !== "sprint62") throw new Error(`agent: --dialect ${values.dialect}: use v1 or sprint62`);
  const timings: Partial<OverlayTimings> = values.fast ? { ...FAST_TIMINGS } : {};
  for (const kv of values.timing) {
    const [k, v] = kv.split("=");
    if (!k || !v || !Number.isFinite(Number(v))) throw new Error(`agent: --timing ${kv}: use name=ms, e.g. nakQuietMs=300`);
    (timings as Record<string, number>)[k] = Number(v);
  }
  if (values.out) await mkdir(values.out, { recursive: true });
  const out = values.out;
  const quiet = values.quiet;

  const overlay = await Overlay.start({
    nodeId: values.id,
    port: Number(values.port),
    bindAddress: values.bind,
    broadcastAddress: values.broadcast,
    peers: values.peer,
    dialect: values.dialect,
    binary: !values["no-binary"],
    codedRepair: !values["no-coded-repair"],
    rateBytesPerSec: values.rate !== undefined ? Number(values.rate) : undefined,
    maxDatagramBytes: values["max-datagram"] !== undefined ? Number(values["max-datagram"]) : undefined,
    timings,
    // delta-received is printed once the file is on disk, so a reader of the event finds it there.
    // Transfer milestones carry cpuUs (this process so far): meta -> delta-received is what receiving
    // one delta cost, announced -> sent what sending its first pass did; on a small box running many
    // agents, CPU is what runs out first.
    onEvent: (ev, f) => { if (quiet && QUIET_EVENTS.has(ev)) return; if (CPU_EVENTS.has(ev)) emit(ev, { ...f, cpuUs: cpuUs() }); else if (ev !== "delta-received") emit(ev, f); },
    onDelta: async (d) => {
      const path = out ? join(out, `${d.version}.pt`) : undefined;
      const verifiedAt = performance.now();
      if (path) writeAtomic(path, d.bytes);
      emit("delta-received", { version: d.version, from: d.from, sha256: d.sha256, bytes: d.bytes.length, ms: Date.now() - d.metaAt, path,
        writeMs: performance.now() - verifiedAt, cpuUs: cpuUs() });
    },
  });

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // cpuUs: on a small box running many agents (bench:sync with 8 receivers on 2 cores) CPU is what
    // runs out first; this says how much each one used.
    emit("stats", { stats: overlay.stats, peers: overlay.peers().length, transfers: overlay.transfers().length, cpuUs: cpuUs() });
    await overlay.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  // Keep the process alive: the overlay's own timers are unref()'d.
  const keepAlive = setInterval(() => {}, 1 << 30);

  if (values.send.length) {
    const started = Date.now();
    const sendAfter = Number(values["send-after-ms"]);
    let firstPeerAt: number | undefined;
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const now = Date.now();
        if (firstPeerAt === undefined && overlay.peers().length > 0) firstPeerAt = now;
        if ((firstPeerAt !== undefined && now - firstPeerAt >= SEND_SETTLE_MS) || now - started >= sendAfter) {
          clearInterval(poll);
          resolve();
        }
      }, 25);
    });
    for (const file of values.send) {
      const bytes = await readFile(file);
      const r = await overlay.sendDelta(bytes);
      emit("send-done", { file, ...r, peers: overlay.peers().map((p) => p.id) });
    }
  }
  void keepAlive;
}

main().catch((e: Error) => {
  emit("error", { error: e.message });
  process.exit(1);
});
