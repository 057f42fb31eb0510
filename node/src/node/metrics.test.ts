// The metrics page: every name of docs/contracts.md's table (dashboards and alerts depend on them),
// overlay counters mirrored from the overlay's own stats object, labelled series present at 0 from
// the start, and a page promtool accepts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { DROP_REASONS, newStats, REJECT_REASONS } from "../overlay/stats.js";
import { needs } from "../../../test/support/needs.js";
import { createMetrics } from "./metrics.js";
import { ADMISSIONS, REFUSALS } from "../trust/admission.js";
import { TrustGate } from "../trust/gate.js";
import { join } from "node:path";
import { ensureDefaultModel } from "../model/default-model.js";
import { Model } from "../model/model.js";
import { createLogger } from "./logger.js";
import { resolveNodeOptions } from "./options.js";
import { startNode } from "./start.js";
import { FakeHub } from "../../../test/support/node-fakes.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { until } from "../../../test/support/until.js";

const scratch = tempDirs("metrics-");

const CONTRACT_NAMES = [
  "fleet_fragments_sent_total", "fleet_fragments_received_total", "fleet_retransmits_total", "fleet_naks_sent_total",
  "fleet_tail_repeats_total", "fleet_repairs_skipped_total", "fleet_repair_markers_total",
  "fleet_repair_symbols_total", "fleet_chunks_recovered_total",
  "fleet_naks_received_total", "fleet_deltas_announced_total", "fleet_deltas_completed_total", "fleet_deltas_merged_total",
  "fleet_deltas_rejected_total", "fleet_datagrams_dropped_total", "fleet_bytes_sent_total", "fleet_bytes_received_total",
  "fleet_peers", "fleet_transfers_in_flight", "fleet_teaches_total", "fleet_delivery_latency_seconds",
  "fleet_merge_duration_seconds", "fleet_train_duration_seconds", "fleet_train_loss", "fleet_last_merge_timestamp_seconds",
  "fleet_applied_deltas", "fleet_model_info", "fleet_model_digest",
  "fleet_entries_refused_total", "fleet_entries_admitted_total", "fleet_authors_ignored",
  "fleet_job_round_seconds", "fleet_job_participants", "fleet_job_stragglers_total", "fleet_job_loss",
  "fleet_lessons_held", "fleet_lessons_asked", "fleet_lessons_recalled", "fleet_lessons_recall_digest",
];

function page(stats = newStats(), model = { node: "Pi-1", fingerprint: "abcd", digest: "ef01" }) {
  return createMetrics({
    overlayStats: () => stats,
    peers: () => 2,
    transfersInFlight: () => 1,
    appliedDeltas: () => 3,
    model: () => model,
    recall: () => ({ digest: model.digest, held: 14, asked: 12, recalled: 9 }),
  });
}

test("every metric the contract names is exported, with its type", async () => {
  const text = await page().text();
  for (const n of CONTRACT_NAMES) assert.match(text, new RegExp(`^# TYPE ${n} (counter|gauge|histogram)$`, "m"), `${n} missing`);
  assert.match(text, /^process_resident_memory_bytes /m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
});

test("overlay counters are read from the overlay's stats at scrape time", async () => {
  const stats = newStats();
  const m = page(stats);
  stats.fragmentsSent = 556;
  stats.retransmits = 4;
  stats.tailRepeats = 3;
  stats.repairsSkipped = 5;
  stats.repairMarkers = 6;
  stats.repairSymbols = 8;
  stats.chunksRecovered = 11;
  stats.naksReceived = 2;
  stats.bytesReceived = 1234;
  stats.deltasRejected.sha += 1;
  stats.datagramsDropped.crc += 7;
  stats.transfersEvicted.untrusted += 9;
  const text = await m.text();
  assert.match(text, /^fleet_fragments_sent_total 556$/m);
  assert.match(text, /^fleet_retransmits_total 4$/m);
  assert.match(text, /^fleet_tail_repeats_total 3$/m);
  assert.match(text, /^fleet_repairs_skipped_total 5$/m);
  assert.match(text, /^fleet_repair_markers_total 6$/m);
  assert.match(text, /^fleet_repair_symbols_total 8$/m);
  assert.match(text, /^fleet_chunks_recovered_total 11$/m);
  assert.match(text, /^fleet_naks_received_total 2$/m);
  assert.match(text, /^fleet_bytes_received_total 1234$/m);
  assert.match(text, /^fleet_deltas_rejected_total\{reason="sha"\} 1$/m);
  assert.match(text, /^fleet_datagrams_dropped_total\{reason="crc"\} 7$/m);
  assert.match(text, /^fleet_transfers_evicted_total\{pool="untrusted"\} 9$/m);
  assert.match(text, /^fleet_transfers_evicted_total\{pool="trusted"\} 0$/m);
  stats.fragmentsSent = 600;
  assert.match(await m.text(), /^fleet_fragments_sent_total 600$/m);
});

test("labelled counters exist at 0 from start-up; model info is one series with node and fingerprint", async () => {
  const text = await page().text();
  for (const r of REJECT_REASONS) assert.match(text, new RegExp(`^fleet_deltas_rejected_total\\{reason="${r}"\\} 0$`, "m"));
  // Every reason the overlay counts, the receiver's too (a forged SRC, a late copy), not only the codec's.
  for (const r of DROP_REASONS) assert.match(text, new RegExp(`^fleet_datagrams_dropped_total\\{reason="${r}"\\} 0$`, "m"));
  assert.match(text, /^fleet_datagrams_dropped_total\{reason="forged_src"\} 0$/m);
  assert.match(text, /^fleet_deltas_rejected_total\{reason="error"\} 0$/m);
  assert.equal(text.match(/^fleet_model_info\{/gm)?.length, 1);
  assert.match(text, /^fleet_model_info\{node="Pi-1",fingerprint="abcd"\} 1$/m);
  assert.match(text, /^fleet_peers 2$/m);
  assert.match(text, /^fleet_applied_deltas 3$/m);
  assert.deepEqual(["held", "asked", "recalled"].map((k) => value(text, `fleet_lessons_${k}`)), [14, 12, 9]);
  assert.equal(value(text, "fleet_lessons_recall_digest"), 0xef01);
});

test("a merge changes the digest's value, never a series' labels: model series stay bounded however often weights change", async () => {
  const model = { node: "Pi-1", fingerprint: "abcd", digest: "0123456789ab".padEnd(64, "c") };
  const m = page(newStats(), model);
  const modelSeries = async () => {
    const lines = (await m.text()).split("\n").filter((l) => l.startsWith("fleet_model_"));
    return { labels: lines.map((l) => l.slice(0, l.lastIndexOf(" "))), values: lines.map((l) => Number(l.slice(l.lastIndexOf(" ") + 1))) };
  };
  const before = await modelSeries();
  model.digest = "fedcba987654".padEnd(64, "3");
  const after = await modelSeries();
  assert.deepEqual(after.labels, before.labels);
  assert.deepEqual(after.labels, ['fleet_model_info{node="Pi-1",fingerprint="abcd"}', 'fleet_model_digest{node="Pi-1"}']);
  // The first 12 hex digits, exactly (2^48 < 2^53): what fleetctl prints, and what tells digests apart.
  assert.deepEqual([before.values[1], after.values[1]], [0x0123456789ab, 0xfedcba987654]);
});

test("promtool check metrics accepts the page", { skip: needs("promtool") }, async () => {
  const m = page();
  m.deliveryLatency.observe(0.2);
  m.trainLoss.set(0.69);
  const text = await m.text();
  // promtool exits non-zero on errors and on lint problems; its output names them.
  const out = execFileSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  assert.equal(out.trim(), "");
});

test("trust: entries refused by reason and admitted by how, every label at 0 from the start, read from the gate at scrape time", async () => {
  const gate = new TrustGate({ roster: undefined, acceptUnsigned: false, params: 10 });
  const m = createMetrics({
    overlayStats: () => undefined, peers: () => 0, transfersInFlight: () => 0, appliedDeltas: () => 0, model: () => undefined,
    trust: () => ({ refused: gate.refused, admitted: gate.admitted, ignored: gate.ignoredCount() }),
  });
  let text = await m.text();
  for (const r of REFUSALS) assert.match(text, new RegExp(`^fleet_entries_refused_total\\{reason="${r}"\\} 0$`, "m"));
  for (const b of ADMISSIONS) assert.match(text, new RegExp(`^fleet_entries_admitted_total\\{by="${b}"\\} 0$`, "m"));
  assert.match(text, /^fleet_authors_ignored 0$/m);
  gate.refusedAgain("not_member");
  gate.refusedAgain("not_member");
  gate.admitSelf();
  text = await m.text();
  assert.match(text, /^fleet_entries_refused_total\{reason="not_member"\} 2$/m);
  assert.match(text, /^fleet_entries_admitted_total\{by="self"\} 1$/m);
});

/** The value of an unlabelled series on a metrics page, undefined when absent. */
function value(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

test("recall: a real node's scrape gives the lessons it holds, how many it asked and how many its weights answer as taught", { timeout: 120_000 }, async (t) => {
  process.env.FLEET_MODEL_CACHE ??= scratch();
  const o = resolveNodeOptions("Pi-1", { http: "127.0.0.1:0", stateDir: join(scratch(), "Pi-1"), port: "5000" }, {});
  const n = await startNode(o, { loadModel: (p) => Model.load(p, { inference: "ts" }), defaultModelPath: async () => ensureDefaultModel(), startOverlay: new FakeHub().start },
    createLogger({ nodeId: "Pi-1", level: "silent", format: "json" }));
  t.after(() => n.close());
  const current = async () => {
    const text = await n.metrics.text();
    const asked = value(text, "fleet_lessons_recall_digest");
    return asked !== undefined && asked === value(text, "fleet_model_digest\\{node=\"Pi-1\"\\}") && text;
  };
  const empty = await until("a recall pass on the base weights", current, 30_000);
  assert.deepEqual(["held", "asked", "recalled"].map((k) => value(empty, `fleet_lessons_${k}`)), [0, 0, 0]);

  // The same question taught twice: the weights can answer only one of the two lessons as taught.
  const lessons: Array<[string, string]> = [["What is 2+2", "4"], ["What is 2+2", "5"], ["What is the capital of France", "Paris"]];
  for (const [q, a] of lessons) await n.runtime.teach(q, a);
  let expected = 0;
  for (const [q, a] of lessons) if ((await n.runtime.ask(q)).answer.trim() === a) expected++;
  assert.ok(expected < lessons.length, "the run should hold a lesson its weights no longer answer");

  const text = await until("a recall pass on the weights after the teaches", current, 30_000);
  assert.equal(value(text, "fleet_lessons_held"), lessons.length);
  assert.equal(value(text, "fleet_lessons_asked"), lessons.length);
  assert.equal(value(text, "fleet_lessons_recalled"), expected);
});
