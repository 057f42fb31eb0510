// Address resolution: broadcast from address and netmask, interface names, and when broadcasting is off.

import { test } from "node:test";
import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { broadcastOf, resolveAddresses } from "./netif.js";

test("the directed broadcast sets every host bit", () => {
  assert.equal(broadcastOf("10.122.0.12", "255.255.0.0"), "10.122.255.255");
  assert.equal(broadcastOf("192.168.1.77", "255.255.255.0"), "192.168.1.255");
  assert.equal(broadcastOf("127.0.0.1", "255.0.0.0"), "127.255.255.255");
});

test("bind by interface name; broadcast derived from it, given explicitly, switched off, or off with static peers", () => {
  const lo = Object.entries(networkInterfaces()).find(([, l]) => l?.some((i) => i.family === "IPv4" && i.internal));
  assert.ok(lo, "no IPv4 loopback interface on this machine");
  const r = resolveAddresses(lo[0], undefined, true);
  assert.equal(r.bindAddress, "127.0.0.1");
  assert.equal(r.ownIp, "127.0.0.1");
  assert.equal(r.broadcastAddress, "127.255.255.255");
  assert.equal(resolveAddresses("127.0.0.1", "10.0.0.255", true).broadcastAddress, "10.0.0.255");
  assert.equal(resolveAddresses("127.0.0.1", "none", true).broadcastAddress, undefined);
  assert.equal(resolveAddresses("127.0.0.1", undefined, false).broadcastAddress, undefined);
  assert.throws(() => resolveAddresses("no-such-if0", undefined, true), /neither an IPv4 address nor an interface/);
});
