// bench:sync — delivery time and sender bytes of one course delta on a namespace LAN, ours against
// UFTP measured in the same run (and optionally the course's Python node).
//
//   node dist/bench/sync/main.js [--n 1,3,8] [--loss 0,5,20] [--runs 3] [--rate-mbit 100]
//        [--systems ours,uftp[,course]] [--dialect v1|sprint62] [--agent-rate B/s]
//        [--agent-args="--timing nakQuietMs=30 ..."] [--file f] [--payload file|random|both]
//        [--random-bytes N] [--json]
// --random-bytes: size of the incompressible payload (default: the file's), e.g. 2000000 for 2 MB.
// Systems: ours (coded repair on, the default), plain (ours with --no-coded-repair: resends only),
// uftp, course.
// (--agent-args needs the "=": parseArgs takes a separate value starting with "-" for a flag.)
//
// Needs root (network namespaces), iproute2, iptables, uftp. Prints, per N and loss: median ms from
// first announcement to the last receiver's verified file, that time over the wire-time limit
// (payload bytes at the link rate), bytes the sender's interface sent over the payload, and ours
// over UFTP.
//
// Two payloads by default: the course delta (sparse fp16, which DeltaFleet nodes send to each other
// deflated: what a Pi's delta costs) and incompressible bytes of its size (the transport alone, like
// for like with UFTP, which sends the file as it is).

import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Lan } from "../../test/support/netlab.js";
import { courseFixture } from "../../test/support/paths.js";
import { runCourse } from "./course.js";
import { runOurs } from "./ours.js";
import { formatGrowth, formatTable, median, type Row } from "./table.js";
import type { TrialResult, TrialSpec } from "./trial.js";
import { runUftp, UFTP_RATE_KBIT } from "./uftp.js";
import { DEFAULT_RATE_BYTES_PER_SEC } from "../../node/src/overlay/overlay.js";

const SYSTEMS = ["ours", "plain", "uftp", "course"] as const;
type SystemName = (typeof SYSTEMS)[number];

function numbers(flag: string, s: string): number[] {
  const xs = s.split(",").map(Number);
  if (xs.some((x) => !Number.isFinite(x) || x < 0)) throw new Error(`bench:sync: --${flag} wants comma-separated numbers, got "${s}"`);
  return xs;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: "string", default: "1,3,8" },
      loss: { type: "string", default: "0,5,20" },
      runs: { type: "string", default: "3" },
      "rate-mbit": { type: "string", default: "100" },
      systems: { type: "string", default: "ours,uftp" },
      dialect: { type: "string" },
      "agent-rate": { type: "string" },
      "agent-args": { type: "string", default: "" },
      file: { type: "string", default: courseFixture("delta_v1764009046.pt") },
      payload: { type: "string", default: "both" },
      "random-bytes": { type: "string" },
      "timeout-s": { type: "string", default: "30" },
      json: { type: "boolean", default: false },
    },
  });
  if (process.getuid?.() !== 0) throw new Error("bench:sync: needs root for network namespaces (run with sudo)");
  const ns = numbers("n", values.n);
  const losses = numbers("loss", values.loss);
  const runs = Number(values.runs);
  const rateMbit = Number(values["rate-mbit"]);
  const systems = values.systems.split(",") as SystemName[];
  const unknown = systems.filter((s) => !SYSTEMS.includes(s));
  if (unknown.length) throw new Error(`bench:sync: unknown system ${unknown.join(",")} (know ${SYSTEMS.join(",")})`);
  const dialect = values.dialect as "v1" | "sprint62" | undefined;
  const agentRate = values["agent-rate"] ? Number(values["agent-rate"]) : undefined;

  if (!["file", "random", "both"].includes(values.payload)) throw new Error(`bench:sync: --payload ${values.payload} is not file, random or both`);
  const scratch = await mkdtemp(join(tmpdir(), "bench-sync-"));
  const fileData = await readFile(values.file);
  const payloads: Array<{ name: string; file: string }> = [];
  if (values.payload !== "random") payloads.push({ name: "the delta file", file: values.file });
  if (values.payload !== "file") {
    // Seeded, so every run sends the same bytes.
    let x = 0x9e3779b9;
    const randomBytes = values["random-bytes"] === undefined ? fileData.length : Number(values["random-bytes"]);
    if (!Number.isInteger(randomBytes) || randomBytes < 1) throw new Error(`bench:sync: --random-bytes ${values["random-bytes"]} is not a positive byte count`);
    const noise = Uint8Array.from({ length: randomBytes }, () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 24));
    const file = join(scratch, "incompressible.bin");
    await writeFile(file, noise);
    payloads.push({ name: values["random-bytes"] === undefined ? "incompressible bytes of its size" : `incompressible bytes (${randomBytes} B)`, file });
  }
  const run: Record<SystemName, (s: TrialSpec) => Promise<TrialResult>> = {
    ours: (s) => runOurs(s, { dialect, rate: agentRate, extra: values["agent-args"].split(" ").filter(Boolean) }),
    plain: (s) => runOurs(s, { dialect, rate: agentRate, extra: ["--no-coded-repair", ...values["agent-args"].split(" ").filter(Boolean)] }),
    uftp: runUftp,
    course: runCourse,
  };
  const reports: unknown[] = [];
  try {
    for (const payload of payloads) {
      const data = await readFile(payload.file);
      const sha256 = createHash("sha256").update(data).digest("hex");
      const wireMs = (data.length * 8) / (rateMbit * 1e6) * 1000;
      const rows: Row[] = [];
      for (const n of ns) {
        const lan = await Lan.create({ hosts: n + 1, rateMbit });
        try {
          for (const loss of losses) {
            for (let i = 1; i <= n; i++) await lan.setLoss(i, loss / 100);
            const results = new Map<SystemName, TrialResult[]>(systems.map((s) => [s, []]));
            for (let r = 0; r < runs; r++) {
              for (const sys of systems) {   // interleaved, so drift in machine load hits all alike
                const dir = join(scratch, `${sys}-n${n}-l${loss}-${r}`);
                const res = await run[sys]({ lan, n, file: payload.file, bytes: data.length, sha256, dir,
                  timeoutMs: Number(values["timeout-s"]) * 1000 });
                results.get(sys)!.push(res);
                if (!values.json) process.stderr.write(`n=${n} loss=${loss}% ${sys} run ${r + 1}: ${res.ok ? `${res.ms.toFixed(1)} ms, ${res.txBytes} B` : "FAILED " + res.note}\n`);
              }
            }
            const uftpMs = median((results.get("uftp") ?? []).filter((x) => x.ok).map((x) => x.ms));
            for (const sys of systems) {
              const rs = results.get(sys)!;
              const good = rs.filter((x) => x.ok);
              const ms = median(good.map((x) => x.ms));
              const tx = median(good.map((x) => x.txBytes));
              rows.push({ system: sys, n, lossPct: loss, ok: good.length, runs: rs.length, ms, txBytes: tx,
                timeRatio: ms / wireMs, bytesRatio: tx / data.length, vsUftp: sys === "uftp" ? NaN : ms / uftpMs,
                note: [...new Set(rs.filter((x) => x.note).map((x) => x.note))].join("; ").slice(0, 120) });
            }
          }
        } finally {
          await lan.close();
        }
      }
      if (values.json) {
        reports.push({ payload: payload.name, file: payload.file, bytes: data.length, rateMbit, wireMs, rows });
      } else {
        // The senders' pacing differs (ours: a Pi-safe default unless --agent-rate; UFTP: tuned to the
        // LAN), and it sets the floor of every time in the table: say so next to the figures.
        const pacing = `pacing: ours ${((agentRate ?? DEFAULT_RATE_BYTES_PER_SEC) * 8 / 1e6).toFixed(1)} Mbit/s${agentRate ? "" : " (node default)"}, uftp ${UFTP_RATE_KBIT / 1000} Mbit/s (-R)`;
        console.log(formatTable(rows, `bench:sync  ${payload.name}, ${data.length} B, ${rateMbit} Mbit/s tbf links, wire-time limit ${wireMs.toFixed(1)} ms, median of ${runs}; ${pacing}`));
        const growth = formatGrowth(rows);
        if (growth) console.log(growth + "\n");
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  if (values.json) console.log(JSON.stringify(reports, null, 2));
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
