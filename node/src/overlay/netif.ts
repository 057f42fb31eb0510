// Which local address to bind, which broadcast address to use and which ip to put in PEER_SYNC,
// from the options and os.networkInterfaces().

import { networkInterfaces } from "node:os";

export interface ResolvedAddresses {
  bindAddress: string;
  /** Address peers should reach us at (Sprint 6.2 PEER_SYNC body; V=1 course ignores it anyway). */
  ownIp: string;
  /** undefined: broadcasting is off. */
  broadcastAddress: string | undefined;
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/** Directed broadcast of addr/netmask: all host bits set. */
export function broadcastOf(address: string, netmask: string): string {
  const a = address.split(".").map(Number);
  const m = netmask.split(".").map(Number);
  return a.map((x, i) => (x | (~m[i]! & 255)) & 255).join(".");
}

/**
 * bind: an IPv4 address, "0.0.0.0", or an interface name (its first IPv4 address).
 * broadcast: an address, "none" to switch it off, or undefined to derive it from the interface that
 * holds the bind address (for 0.0.0.0: the first non-internal IPv4 interface, else loopback).
 * deriveBroadcast false (static peers given, no broadcast asked for) leaves broadcasting off.
 */
export function resolveAddresses(bind: string, broadcast: string | undefined, deriveBroadcast: boolean): ResolvedAddresses {
  const ifs = Object.entries(networkInterfaces()).flatMap(([name, list]) =>
    (list ?? []).filter((i) => i.family === "IPv4").map((i) => ({ name, ...i })));
  let bindAddress = bind;
  if (!IPV4.test(bind)) {
    const hit = ifs.find((i) => i.name === bind);
    if (!hit) throw new Error(`overlay: --bind ${bind} is neither an IPv4 address nor an interface with one (have: ${ifs.map((i) => `${i.name}=${i.address}`).join(", ")})`);
    bindAddress = hit.address;
  }
  const iface = bindAddress === "0.0.0.0"
    ? ifs.find((i) => !i.internal) ?? ifs.find((i) => i.internal)
    : ifs.find((i) => i.address === bindAddress);
  const ownIp = bindAddress === "0.0.0.0" ? iface?.address ?? "127.0.0.1" : bindAddress;
  let broadcastAddress: string | undefined;
  if (broadcast === "none") broadcastAddress = undefined;
  else if (broadcast) broadcastAddress = broadcast;
  else if (deriveBroadcast && iface) broadcastAddress = broadcastOf(iface.address, iface.netmask);
  else if (deriveBroadcast) broadcastAddress = "255.255.255.255";
  return { bindAddress, ownIp, broadcastAddress };
}
