#!/usr/bin/env node
// An attacker on a namespace LAN (run inside its host's namespace): N hostile datagrams at the
// fleet's nodes, from many sockets on several addresses — METAs from 200 sources, chunks claiming
// 65,536 chunks, NAK storms for whatever version it overheard on the broadcast, forged PEER_SYNCs in
// a real node's name. It prints one JSON line at the end: what it sent, and what came back to its
// flood sockets (bound to unicast addresses, so broadcasts are not counted: only what a node sent
// the attacker itself).
//
//   node lan-flood.js --targets 10.99.0.1,10.99.0.2 --from 10.99.0.4,10.99.0.100 --count 10000
//        --sockets 200 --teacher 10.99.0.1 --forge Pi-1 [--port 5000] [--seconds 20]

import { createSocket, type Socket } from "node:dgram";
import { parseArgs } from "node:util";
import { decode, encodeText } from "../../node/src/overlay/codec.js";
import { claimingChunk, metaFlood } from "./hostile-datagrams.js";

const { values: o } = parseArgs({
  options: {
    targets: { type: "string" }, from: { type: "string" }, count: { type: "string", default: "10000" },
    sockets: { type: "string", default: "200" }, teacher: { type: "string" }, forge: { type: "string", default: "Pi-1" },
    port: { type: "string", default: "5000" }, seconds: { type: "string", default: "20" },
  },
});
const targets = (o.targets ?? "").split(",").filter(Boolean);
const froms = (o.from ?? "").split(",").filter(Boolean);
if (targets.length === 0 || froms.length === 0) throw new Error("lan-flood: --targets and --from are required");
const PORT = Number(o.port);
const COUNT = Number(o.count);
const SOCKETS = Number(o.sockets);
const SECONDS = Number(o.seconds);

function bind(address: string, port = 0, reuse = false): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: "udp4", reuseAddr: reuse });
    s.once("error", reject);
    s.bind(port, address, () => resolve(s));
  });
}

const stats = { sent: 0, sentBytes: 0, sentToTeacher: 0, fromTeacher: 0, fromTeacherDatagrams: 0, heardVersions: 0 };
const socks: Socket[] = [];
for (let i = 0; i < SOCKETS; i++) socks.push(await bind(froms[i % froms.length]!));
for (const s of socks) {
  s.on("message", (m, r) => {
    if (r.address === o.teacher) { stats.fromTeacher += m.length; stats.fromTeacherDatagrams++; }
  });
}
// Overhears the broadcast (bound to the port on every address, like the nodes) for real versions to NAK.
const versions: string[] = [];
const ear = await bind("0.0.0.0", PORT, true);
ear.on("message", (m) => {
  const d = decode(m);
  if (d.ok && d.packet.type === "MODEL_META" && !versions.includes(d.packet.ver)) { versions.push(d.packet.ver); stats.heardVersions++; }
});

const metas = metaFlood(200);
const crafted: Array<(i: number) => Uint8Array> = [
  (i) => metas(i),
  (i) => claimingChunk(i % 500),
  // A NAK storm naming a real version (once one was heard), ranges that would expand to a million.
  (i) => encodeText("v1", { src: `atk${i % SOCKETS}`, seq: i }, { type: "CHUNK_NAK", ver: versions[i % Math.max(1, versions.length)] ?? "v1764008499", missing: [], wantMeta: true }, { ranges: "0-999999" }),
  // A real node's id from the attacker's address: must not move where that node's traffic goes.
  (i) => encodeText("v1", { src: o.forge!, seq: i }, { type: "PEER_SYNC", ours: true }, { ownIp: froms[0], ownPort: PORT }),
  // A DeltaFleet-looking stranger asking for indexes and entries.
  (i) => encodeText("v1", { src: `ctl${i % 50}`, seq: i }, { type: "CONTROL", kind: i % 2 ? "index" : "want", body: {} }),
];

// Every socket introduces itself as a DeltaFleet peer first, so its NAKs are not dropped as a
// stranger's: what they cost is then the repair budget's business (2 bytes out per byte in).
for (let k = 0; k < socks.length; k++) {
  for (const to of targets) {
    const sync = encodeText("v1", { src: `atk${k}`, seq: 1 }, { type: "PEER_SYNC", ours: true }, { ownIp: froms[k % froms.length], ownPort: PORT });
    await new Promise<void>((r) => socks[k]!.send(sync, PORT, to, () => r()));
    stats.sent++;
    stats.sentBytes += sync.length;
    if (to === o.teacher) stats.sentToTeacher += sync.length;
  }
}

const end = Date.now() + SECONDS * 1000;
for (let i = 0; i < COUNT && Date.now() < end; i++) {
  const buf = crafted[i % crafted.length]!(i);
  const to = targets[i % targets.length]!;
  const s = socks[i % socks.length]!;
  await new Promise<void>((r) => s.send(buf, PORT, to, () => r()));
  stats.sent++;
  stats.sentBytes += buf.length;
  if (to === o.teacher) stats.sentToTeacher += buf.length;
  // ~10,000 datagrams over a few seconds: a flood, but paced so the measure is the nodes' handling.
  if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5));
}
// Answers to the last datagrams (repairs, PONGs) may still be on their way.
await new Promise((r) => setTimeout(r, 2_000));
process.stdout.write(JSON.stringify({ ev: "flood_done", ...stats }) + "\n");
for (const s of [...socks, ear]) s.close();
