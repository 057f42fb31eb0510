// DeltaFleet-only traffic beside the course's: what a node says in PEER_SYNC, payload transfers
// (META kind=) and CONTROL requests reach our own nodes and nobody else, and a course node on the
// same LAN never gets a byte of them.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { decode, encodeText, SAYS_MAX_KEYS } from "./codec.js";
import { Overlay, type OverlayTimings, type PayloadArrival } from "./overlay.js";
import { seeded } from "../../../test/support/faulty-transport.js";
import { until as poll } from "../../../test/support/until.js";

const LO = "127.0.0.1";
const FAST: Partial<OverlayTimings> = { binaryAfterMs: 0, syncIntervalMs: 100, tickMs: 20 };

function bindRaw(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: "udp4", reuseAddr: true });
    s.once("error", reject);
    s.bind(0, LO, () => resolve(s));
  });
}

const until = (what: string, cond: () => boolean, timeoutMs = 10_000): Promise<true> => poll(what, () => cond(), timeoutMs, 10);

interface Ours { ov: Overlay; payloads: PayloadArrival[]; deltas: number; controls: Array<[string, string, Record<string, string>]> }

async function ours(t: TestContext, nodeId: string, port: number, peers: number[], says?: () => Record<string, string>): Promise<Ours> {
  const n: Ours = { ov: undefined as unknown as Overlay, payloads: [], deltas: 0, controls: [] };
  n.ov = await Overlay.start({
    nodeId, port, bindAddress: LO, peers: peers.map((p) => `${LO}:${p}`), timings: FAST, says,
    onDelta: async () => { n.deltas++; },
    onPayload: (p) => { n.payloads.push(p); },
    onControl: (from, kind, body) => { n.controls.push([from, kind, body]); },
  });
  t.after(() => n.ov.close());
  return n;
}

async function freePorts(k: number): Promise<number[]> {
  const socks = await Promise.all(Array.from({ length: k }, () => bindRaw()));
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

test("codec: what a node says, a payload's kind and CONTROL round-trip in V=1; course keys and separators cannot be said", () => {
  const sync = decode(encodeText("v1", { src: "n1", seq: 1 }, { type: "PEER_SYNC", ours: true, says: { log: "3.ab12cd", base: "w1-00ff" } }));
  assert.ok(sync.ok && sync.packet.type === "PEER_SYNC");
  assert.deepEqual(sync.packet.type === "PEER_SYNC" && sync.packet.says, { log: "3.ab12cd", base: "w1-00ff" });
  const meta = decode(encodeText("v1", { src: "n1", seq: 2 }, { type: "MODEL_META", ver: "d1-n1-aa", chunks: 2, size: 10, sha256: "a".repeat(64), kind: "entry" }));
  assert.equal(meta.ok && meta.packet.type === "MODEL_META" && meta.packet.kind, "entry");
  const ctl = decode(encodeText("v1", { src: "n1", seq: 3 }, { type: "CONTROL", kind: "want", body: { names: "a~1~" + "b".repeat(64) } }));
  assert.deepEqual(ctl.ok && ctl.packet.type === "CONTROL" && [ctl.packet.kind, ctl.packet.body], ["want", { names: "a~1~" + "b".repeat(64) }]);
  assert.throws(() => encodeText("v1", { src: "n1", seq: 4 }, { type: "PEER_SYNC", ours: true, says: { port: "1" } }), /may not be said/);
  assert.throws(() => encodeText("v1", { src: "n1", seq: 4 }, { type: "PEER_SYNC", ours: true, says: { log: "a|b" } }), /is not/);
  // A course node's PEER_SYNC says nothing, whatever extra keys it carries; a hostile body is cut to SAYS_MAX_KEYS.
  const course = decode(Buffer.from("V=1|SRC=Pi-1|SEQ=1|TYPE=PEER_SYNC|TS=1|BODY=ip=127.0.0.1;port=5000;log=1.ab"));
  assert.equal(course.ok && course.packet.type === "PEER_SYNC" && course.packet.says, undefined);
  const many = Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(";");
  const flood = decode(Buffer.from(`V=1|SRC=x|SEQ=1|TYPE=PEER_SYNC|TS=1|BODY=df=1;${many}`));
  assert.equal(flood.ok && flood.packet.type === "PEER_SYNC" && Object.keys(flood.packet.says ?? {}).length, SAYS_MAX_KEYS);
  // A META kind without a sha256 could never be verified: refused.
  assert.equal(decode(Buffer.from("V=1|SRC=x|SEQ=1|TYPE=MODEL_META|TS=1|BODY=ver=v1;chunks=1;kind=entry")).ok, false);
});

test("a payload goes to our nodes only, deflated and whole, delivered as its kind; a course node on the LAN gets none of it", async (t) => {
  const [pa, pb] = await freePorts(2);
  const course = await bindRaw();
  t.after(() => new Promise<void>((r) => course.close(() => r())));
  const heard: Buffer[] = [];
  course.on("message", (m) => heard.push(m));
  const a = await ours(t, "n0", pa!, [pb!, course.address().port], () => ({ log: "1.abc" }));
  const b = await ours(t, "n1", pb!, [pa!], () => ({ log: "2.def" }));
  // The course node introduces itself (no df=1): a V=1 peer that is not ours.
  const sync = (): void => { course.send(encodeText("v1", { src: "Pi-9", seq: 1 }, { type: "PEER_SYNC", ours: false }, { ownIp: LO, ownPort: course.address().port }), pa!, LO); };
  sync();
  await until("both peers known to n0", () => a.ov.peers().length === 2 && a.ov.peers().find((p) => p.id === "n1")?.ours === true);
  assert.deepEqual(a.ov.peers().find((p) => p.id === "n1")?.says, { log: "2.def" }, "what n1 says is in n0's table");
  assert.deepEqual(a.ov.peers().find((p) => p.id === "Pi-9")?.says, {});
  const rnd = seeded(7);
  const bytes = Buffer.from(Uint8Array.from({ length: 20_000 }, (_, i) => (i % 3 === 0 ? Math.floor(rnd() * 256) : 0)));
  heard.length = 0;
  const sent = await a.ov.sendPayload(bytes, { kind: "entry" });
  await until("n1 to get the payload", () => b.payloads.length === 1);
  assert.equal(b.payloads[0]!.kind, "entry");
  assert.ok(Buffer.from(b.payloads[0]!.bytes).equals(bytes));
  assert.equal(b.deltas, 0, "a payload is never handed to onDelta");
  assert.equal(b.payloads[0]!.version, sent.version);
  await new Promise((r) => setTimeout(r, 200));
  const leaked = heard.map((m) => decode(m)).filter((d) => d.ok && (d.packet.type === "MODEL_META" || d.packet.type === "MODEL_CHUNK" || d.packet.type === "CONTROL"));
  assert.equal(leaked.length, 0, "the course node got a payload's META, chunks or a CONTROL");
  // CONTROL: to one of ours, delivered with its body; to the course node, not sent at all.
  assert.equal(await a.ov.sendControl("n1", "want", { names: "x~1~" + "c".repeat(64) }), true);
  assert.equal(await a.ov.sendControl("Pi-9", "want", { names: "y" }), false);
  await until("n1 to get the CONTROL", () => b.controls.length === 1);
  assert.deepEqual(b.controls[0], ["n0", "want", { names: "x~1~" + "c".repeat(64) }]);
  // A CONTROL from a SRC that is not one of ours is dropped and counted.
  course.send(encodeText("v1", { src: "Pi-9", seq: 2 }, { type: "CONTROL", kind: "want", body: { names: "z" } }), pa!, LO);
  await until("the stranger's CONTROL counted", () => a.ov.stats.datagramsDropped.control_unknown_peer === 1);
  assert.equal(a.controls.length, 0);
});

test("a payload for one peer goes to it alone; with nobody to send to it sends nothing", async (t) => {
  const [pa, pb, pc] = await freePorts(3);
  const a = await ours(t, "n0", pa!, [pb!, pc!]);
  const b = await ours(t, "n1", pb!, [pa!]);
  const c = await ours(t, "n2", pc!, [pa!]);
  await until("n0 knows both", () => a.ov.peers().filter((p) => p.ours).length === 2);
  await a.ov.sendPayload(Buffer.from("names\n"), { kind: "index", to: ["n2"] });
  await until("n2 gets it", () => c.payloads.length === 1);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(b.payloads.length, 0, "n1 was not named");
  const none = await a.ov.sendPayload(Buffer.from("x"), { kind: "index", to: ["nobody"] });
  assert.equal(none.chunks, 0);
  await assert.rejects(a.ov.sendPayload(Buffer.from("x"), { kind: "Bad Kind" }), /kind/);
});
