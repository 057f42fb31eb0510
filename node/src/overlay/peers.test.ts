// The peer table on its own: an id is bound to the source it was first heard from until it has been
// quiet, and no one source or host fills the table with forged ids.

import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_PEERS_PER_HOST, MAX_PEERS_PER_SOURCE, PeerTable } from "./peers.js";

const QUIET_MS = 15_000;

test("an id speaks only from the source it was first heard from, until it has been quiet QUIET_MS", () => {
  const t = new PeerTable();
  assert.equal(t.touch("Pi-1", "10.0.0.1", 5000, "v1", 0), "new");
  assert.equal(t.bound("Pi-1", "10.0.0.1:5000", 1_000, QUIET_MS), true);
  assert.equal(t.bound("Pi-1", "10.0.0.66:5000", 1_000, QUIET_MS), false, "another host");
  assert.equal(t.bound("Pi-1", "10.0.0.1:40000", 1_000, QUIET_MS), false, "another socket on its host");
  assert.equal(t.bound("Pi-9", "10.0.0.66:5000", 1_000, QUIET_MS), true, "an id not yet known is free");
  assert.equal(t.bound("Pi-1", "10.0.0.66:5000", QUIET_MS, QUIET_MS), true, "quiet: a restarted node may come back elsewhere");
  // A Sprint 6.2 node may be sent to at another port than it sends from: bound by its source.
  t.touch("s62", "10.0.0.2", 5000, "sprint62", 0, false, "10.0.0.2:41000");
  assert.equal(t.bound("s62", "10.0.0.2:41000", 1, QUIET_MS), true);
  assert.equal(t.bound("s62", "10.0.0.2:5000", 1, QUIET_MS), false);
});

test("at most MAX_PEERS_PER_SOURCE ids from one socket and MAX_PEERS_PER_HOST from one host", () => {
  const t = new PeerTable();
  for (let i = 0; i < MAX_PEERS_PER_SOURCE; i++) assert.equal(t.touch(`f${i}`, "10.0.0.66", 5000, "v1", 0), "new");
  assert.equal(t.touch("one-more", "10.0.0.66", 5000, "v1", 0), "full");
  for (let port = 6000; t.size < MAX_PEERS_PER_HOST; port++) assert.equal(t.touch(`p${port}`, "10.0.0.66", port, "v1", 0), "new");
  assert.equal(t.touch("next", "10.0.0.66", 7000, "v1", 0), "full");
  assert.equal(t.touch("elsewhere", "10.0.0.67", 5000, "v1", 0), "new", "another host still has room");
});
