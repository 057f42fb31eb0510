// Who gets what in which framing, on a peer table and a fake clock: binary frames only between
// DeltaFleet nodes after binaryAfterMs of listening and never while a Sprint 6.2 node is known
// (first pass, resends, broadcast repairs alike); broadcasts reach only our port, so a peer on
// another port is sent to by unicast; NAKs go as ranges only to DeltaFleet nodes.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Dialect } from "./codec.js";
import { PeerTable } from "./peers.js";
import { Router, type RouterOptions } from "./router.js";
import type { Dest } from "./sender.js";
import { FakeClock } from "../../../test/support/fake-clock.js";

const BINARY_AFTER_MS = 11_000;

function rig(o: Partial<RouterOptions> = {}) {
  const clock = new FakeClock();
  const table = new PeerTable();
  const router = new Router({ table, port: 5000, ownIp: "10.0.0.1", broadcastAddress: "10.0.0.255", statics: [], dialect: "v1",
    binary: true, binaryAfterMs: BINARY_AFTER_MS, clock, ...o });
  const peer = (id: string, address: string, port: number, dialect: Dialect, ours: boolean): void => {
    table.touch(id, address, port, dialect, clock.now(), ours);
  };
  const dests = (): string[] => router.plan().dests.map(show);
  return { router, clock, table, peer, dests };
}

const show = (d: Dest): string => `${d.framing} ${d.broadcast ? "broadcast " : ""}${d.address}:${d.port}`;

test("binary frames only once we listened binaryAfterMs and every peer is a DeltaFleet node: one broadcast copy", () => {
  const g = rig();
  g.peer("a", "10.0.0.2", 5000, "v1", true);
  g.peer("b", "10.0.0.3", 5000, "v1", true);
  assert.deepEqual(g.dests(), ["v1 broadcast 10.0.0.255:5000"]);
  g.clock.advance(BINARY_AFTER_MS);
  assert.deepEqual(g.router.plan(), { sizing: ["binary"], dests: [{ address: "10.0.0.255", port: 5000, framing: "binary", broadcast: true }],
    audience: ["10.0.0.2:5000", "10.0.0.3:5000"] });
  g.peer("Pi-C", "10.0.0.9", 5000, "v1", false);
  assert.deepEqual(g.dests(), ["v1 broadcast 10.0.0.255:5000"], "a V=1 course node reads only text");
  assert.equal(rig({ binary: false }).router.framingFor({ ...g.table.get("a")! }), "v1");
});

test("a known Sprint 6.2 node: no binary frame anywhere (first pass, resend, broadcast repair); it gets Sprint 6.2 text unicast", () => {
  const g = rig();
  g.clock.advance(BINARY_AFTER_MS);
  g.peer("a", "10.0.0.2", 5000, "v1", true);
  assert.equal(g.router.resendTo("a", { address: "10.0.0.2", port: 5000 }, "v1").framing, "binary");
  g.peer("s62", "10.0.0.7", 5000, "sprint62", false);
  assert.deepEqual(g.dests(), ["v1 broadcast 10.0.0.255:5000", "sprint62 10.0.0.7:5000"]);
  assert.deepEqual(g.router.plan().sizing, ["v1", "sprint62"]);
  assert.equal(g.router.resendTo("a", { address: "10.0.0.2", port: 5000 }, "v1").framing, "v1");
  assert.equal(g.router.broadcastDest("binary"), undefined);
  assert.equal(g.router.broadcastDest("v1")?.address, "10.0.0.255");
});

test("a peer on another port than ours does not hear our broadcast: it gets unicast beside it; with broadcast off all are unicast", () => {
  const g = rig({ ownIp: "127.0.0.1", broadcastAddress: "127.255.255.255" });
  g.clock.advance(BINARY_AFTER_MS);
  g.peer("Pi-2", "127.0.0.1", 5001, "v1", true);
  g.peer("Pi-3", "127.0.0.1", 5000, "v1", true);
  assert.deepEqual(g.dests(), ["binary broadcast 127.255.255.255:5000", "binary 127.0.0.1:5001"]);
  assert.equal(g.router.hearsBroadcast({ port: 5001 }), false);
  assert.equal(g.router.hearsBroadcast({ port: 5000 }), true);
  const off = rig({ broadcastAddress: undefined, statics: [{ address: "10.0.0.2", port: 5000 }, { address: "10.0.0.8", port: 5000 }] });
  off.peer("a", "10.0.0.2", 5000, "v1", false);
  assert.deepEqual(off.dests(), ["v1 10.0.0.2:5000", "v1 10.0.0.8:5000"], "a static peer not heard yet is sent to as well");
  assert.equal(off.router.hearsBroadcast({ port: 5000 }), false);
});

test("NAKs: one datagram of ranges to a DeltaFleet V=1 node, course lists to others, where the peer table says it is", () => {
  const g = rig();
  g.peer("a", "10.0.0.2", 5000, "v1", true);
  g.peer("Pi-C", "10.0.0.9", 5000, "v1", false);
  g.peer("s62", "10.0.0.7", 5002, "sprint62", false);
  const seen = { address: "10.0.0.250", port: 40000, framing: "binary" as const };
  assert.deepEqual(g.router.nakTo("a", seen), { address: "10.0.0.2", port: 5000, dialect: "v1", ranges: true });
  assert.deepEqual(g.router.nakTo("Pi-C", seen), { address: "10.0.0.9", port: 5000, dialect: "v1", ranges: false });
  assert.deepEqual(g.router.nakTo("s62", seen), { address: "10.0.0.7", port: 5002, dialect: "sprint62", ranges: false });
  assert.deepEqual(g.router.nakTo("nobody", { ...seen, framing: "sprint62" }), { address: "10.0.0.250", port: 40000, dialect: "sprint62", ranges: false });
});

test("a unicast to a node sharing our port on this host goes by broadcast (Linux gives it to the last socket bound only)", () => {
  const g = rig({ ownIp: "10.0.0.1" });
  assert.equal(g.router.wireAddress("127.0.0.1", 5000), "10.0.0.255");
  assert.equal(g.router.wireAddress("10.0.0.1", 5000), "10.0.0.255");
  assert.equal(g.router.wireAddress("127.0.0.1", 5001), "127.0.0.1");
  assert.equal(g.router.wireAddress("10.0.0.2", 5000), "10.0.0.2");
});

test("with a roster (isMember), payloads go to members only: a DeltaFleet-speaking stranger gets no copy and is no one's audience", () => {
  const members = new Set(["Pi-2", "Pi-3"]);
  const g = rig({ isMember: (id) => members.has(id) });
  g.clock.advance(BINARY_AFTER_MS);
  g.peer("Pi-2", "10.0.0.2", 5000, "v1", true);
  g.peer("Pi-3", "10.0.0.3", 5001, "v1", true);
  g.peer("atk1", "10.0.0.66", 40001, "v1", true);
  const all = g.router.payloadPlan();
  assert.deepEqual(all.dests.map(show), ["binary broadcast 10.0.0.255:5000", "binary 10.0.0.3:5001"]);
  assert.deepEqual(all.audience, ["10.0.0.2:5000", "10.0.0.3:5001"]);
  assert.deepEqual(g.router.payloadPlan(["atk1", "Pi-2"]).dests.map(show), ["binary 10.0.0.2:5000"]);
  // Without a roster every DeltaFleet node is one of ours.
  const open = rig();
  open.clock.advance(BINARY_AFTER_MS);
  open.peer("Pi-2", "10.0.0.2", 5000, "v1", true);
  open.peer("atk1", "10.0.0.66", 40001, "v1", true);
  assert.deepEqual(open.router.payloadPlan().audience, ["10.0.0.2:5000", "10.0.0.66:40001"]);
});
