#!/usr/bin/env node
// bench/train — what federated rounds buy over one node, in one run on the embedded tiny-gpt2 and
// the shipped quiz (data/quiz.jsonl), with the node's own code (train/: shards, local epoch,
// FedAvg; the same fp16 deltas and their sizes as on the wire):
//   • baseline: ONE node trained on the whole data set, one epoch per round;
//   • FedAvg: N nodes, each one epoch on its shard (equal speeds, 10 % overlap), averaged weighted
//     by shard size into one round entry every node applies;
//   • gossip: N nodes, each its own round entry of 1/N of its update; each entry reaches FANOUT
//     random peers within the round and the others one round later (catch-up), so nodes differ
//     for a while: the table shows the spread of their losses and how many different entry sets
//     the nodes hold (on real nodes, sets and digests are one to one: weights = base + the exact
//     sum of the set; this simulation adds in fp32, so it counts sets), and the last line the
//     sets once every late entry has arrived.
// Loss = mean answer-token loss over the whole data set. Bytes per round = what the messages
// weigh: shards sent, updates back and the round entry to every other node (FedAvg); each entry
// to every other node (gossip). Prints a table and draws bench/train/loss.png (vega-lite → SVG →
// resvg), which the README shows.
//
//   npm run bench:train [-- --rounds 6 --nodes 4 --json]

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { writeTorchStateDict } from "../../node/src/checkpoint/torch-file.js";
import { mergeDelta } from "../../node/src/engine/delta.js";
import { TIED_KEYS, viewParams, type Params } from "../../node/src/engine/params.js";
import { Model } from "../../node/src/model/model.js";
import { parseJsonl, type Pair } from "../../node/src/train/dataset.js";
import { fedAvg, scaleDelta } from "../../node/src/train/fedavg.js";
import { meanLoss, trainEpoch, type TokenPair } from "../../node/src/train/local.js";
import { assignShards } from "../../node/src/train/shards.js";
import { encodeRoundCall } from "../../node/src/train/wire.js";
import { repoRoot } from "../../test/support/paths.js";

const { values: opts } = parseArgs({
  options: { rounds: { type: "string", default: "6" }, nodes: { type: "string", default: "4" }, fanout: { type: "string", default: "1" }, json: { type: "boolean", default: false } },
});
const ROUNDS = Number(opts.rounds);
const N = Number(opts.nodes);
const FANOUT = Math.min(Number(opts.fanout), N - 1);
const OVERLAP = 0.1;

const model = await Model.load(undefined, { inference: "ts" });
const pairs = parseJsonl(readFileSync(join(repoRoot(), "data", "quiz.jsonl"), "utf8")) as Pair[];
const tokens: TokenPair[] = pairs.map((p) => model.pairTokens(p.question, p.answer));
const base = model.params;
const copy = (p: Params): Params => viewParams(p.config, Float32Array.from(p.flat));
const fileOf = (d: Parameters<typeof writeTorchStateDict>[0]) => writeTorchStateDict(d, { sharedStorage: TIED_KEYS });
const ids = Array.from({ length: N }, (_, i) => `pi-${i + 1}`);
const shards = assignShards(pairs.length, ids.map((id) => ({ id, speed: 1 })), OVERLAP);

interface Row { round: number; single: number; fedavg: number; gossip: number; gossipSpread: number; gossipSets: number; fedavgBytes: number; gossipBytes: number }
const loss0 = await meanLoss(base, tokens);
const rows: Row[] = [];

// One node on everything: the baseline.
const single = copy(base);
// FedAvg: one model every node holds.
const global = copy(base);
// Gossip: each node's own weights, and the entries (flat fp16-rounded deltas) not yet delivered to it.
const local = ids.map(() => copy(base));
const pending: Array<Array<{ name: string; flat: Float32Array }>> = ids.map(() => []);
/** The gossip entries each node holds, by name (node:round). */
const held: Array<Set<string>> = ids.map(() => new Set());
const sets = () => new Set(held.map((h) => [...h].sort().join(","))).size;
const flatOf = (d: ReturnType<typeof scaleDelta>): Float32Array => { const p = viewParams(base.config); mergeDelta(p, d, 1); return p.flat; };
const add = (p: Params, flat: Float32Array) => { for (let i = 0; i < flat.length; i++) p.flat[i] = p.flat[i]! + flat[i]!; };

for (let r = 1; r <= ROUNDS; r++) {
  const s = await trainEpoch(single, tokens);
  mergeDelta(single, s.delta, 1);

  let fedavgBytes = 0;
  const updates = [];
  for (const id of ids) {
    const shard = shards.get(id)!;
    fedavgBytes += encodeRoundCall({ job: "bench", r, rounds: ROUNDS, coordinator: ids[0]!, after: null, pairs: shard.map((i) => pairs[i]!) }).length;
    const u = await trainEpoch(global, shard.map((i) => tokens[i]!));
    fedavgBytes += fileOf(u.delta).length;
    updates.push({ delta: u.delta, weight: shard.length });
  }
  const avg = fedAvg(base.config, updates);
  fedavgBytes += fileOf(avg).length * (N - 1);
  mergeDelta(global, avg, 1);

  // Gossip: last round's late entries arrive first (catch-up), then this round's.
  let gossipBytes = 0;
  for (let k = 0; k < N; k++) for (const e of pending[k]!.splice(0)) { add(local[k]!, e.flat); held[k]!.add(e.name); }
  const made: Float32Array[] = [];
  for (let k = 0; k < N; k++) {
    const u = await trainEpoch(local[k]!, shards.get(ids[k]!)!.map((i) => tokens[i]!));
    const share = scaleDelta(base.config, u.delta, 1 / N);
    gossipBytes += fileOf(share).length * (N - 1);
    made.push(flatOf(share));
  }
  for (let k = 0; k < N; k++) {
    const name = `${ids[k]}:${r}`;
    add(local[k]!, made[k]!);
    held[k]!.add(name);
    const others = ids.map((_, j) => j).filter((j) => j !== k).sort(() => Math.random() - 0.5);
    others.forEach((j, n) => {
      if (n < FANOUT) { add(local[j]!, made[k]!); held[j]!.add(name); } else pending[j]!.push({ name, flat: made[k]! });
    });
  }
  const gl = await Promise.all(local.map((p) => meanLoss(p, tokens)));
  rows.push({
    round: r, single: await meanLoss(single, tokens), fedavg: await meanLoss(global, tokens),
    gossip: gl.reduce((a, b) => a + b, 0) / N, gossipSpread: Math.max(...gl) - Math.min(...gl),
    gossipSets: sets(), fedavgBytes, gossipBytes,
  });
}
// After the last round: catch-up delivers what was still on its way.
for (let k = 0; k < N; k++) for (const e of pending[k]!.splice(0)) { add(local[k]!, e.flat); held[k]!.add(e.name); }
const settled = { sets: sets(), loss: await Promise.all(local.map((p) => meanLoss(p, tokens))) };

const f = (x: number) => x.toFixed(3);
if (opts.json) console.log(JSON.stringify({ nodes: N, rounds: ROUNDS, fanout: FANOUT, pairs: pairs.length, loss0, rows, settled }, null, 2));
else {
  console.log(`tiny-gpt2, ${pairs.length} quiz pairs, ${N} nodes (shards ${ids.map((id) => shards.get(id)!.length).join("/")}, overlap ${OVERLAP}), gossip fanout ${FANOUT}; loss before round 1: ${f(loss0)}\n`);
  console.log("| round | one node, whole set | FedAvg | gossip (mean of nodes) | gossip spread (max−min) | gossip entry sets | FedAvg bytes | gossip bytes |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.round} | ${f(r.single)} | ${f(r.fedavg)} | ${f(r.gossip)} | ${f(r.gossipSpread)} | ${r.gossipSets} | ${r.fedavgBytes} | ${r.gossipBytes} |`);
  console.log(`\nafter catch-up: ${settled.sets} entry set(s) over the ${N} gossip nodes, loss spread ${f(Math.max(...settled.loss) - Math.min(...settled.loss))}`);
  console.log("final loss / one node's: FedAvg " + (rows.at(-1)!.fedavg / rows.at(-1)!.single).toFixed(2) + "×, gossip " + (rows.at(-1)!.gossip / rows.at(-1)!.single).toFixed(2) + "×");
}

// The chart: loss per round of the three, from the same run.
const values = [{ round: 0, series: "one node, whole set", loss: loss0 }, { round: 0, series: "FedAvg", loss: loss0 }, { round: 0, series: "gossip (mean)", loss: loss0 },
  ...rows.flatMap((r) => [{ round: r.round, series: "one node, whole set", loss: r.single }, { round: r.round, series: "FedAvg", loss: r.fedavg }, { round: r.round, series: "gossip (mean)", loss: r.gossip }])];
const spec: vegaLite.TopLevelSpec = {
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: `Loss over the quiz: ${N} nodes vs one (tiny-gpt2, ${pairs.length} pairs)`,
  width: 520, height: 300, background: "white",
  data: { values },
  mark: { type: "line", point: true },
  encoding: {
    x: { field: "round", type: "quantitative", title: "round (one local epoch each)", axis: { tickMinStep: 1 } },
    y: { field: "loss", type: "quantitative", title: "mean answer-token loss", scale: { zero: false } },
    color: { field: "series", type: "nominal", title: null },
  },
};
const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
const svg = await view.toSVG();
const png = new Resvg(svg, { fitTo: { mode: "width", value: 1000 }, font: { loadSystemFonts: true } }).render().asPng();
const out = join(repoRoot(), "bench", "train", "loss.png");
writeFileSync(out, png);
if (!opts.json) console.log(`chart: ${out}`);
