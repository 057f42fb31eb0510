// The fleet as this node sees it: every peer from /status, and whether its fleet log matches ours
// (what it said in its last PEER_SYNC: entries and set hash). Course nodes keep no log.

import { ago, count, fillRows, ms, setText, shown, td } from "./dom.js";

/** Draws the section; returns how many DeltaFleet peers hold exactly our log (the teach's progress). */
export function renderFleet(s) {
  const log = s.log ?? { entries: 0, set: "", peers: [], lacking: 0 };
  const said = new Map((log.peers ?? []).map((p) => [p.id, p]));
  let converged = 0;
  const rows = (s.peers ?? []).map((p) => {
    const st = p.ours ? logState(log, said.get(p.id)) : { text: "course node: keeps no log", cls: "" };
    if (st.converged) converged++;
    return [
      td(p.id), td(p.ours ? "DeltaFleet" : "course node"), td(`${p.address}:${p.port}`), td(p.dialect),
      td(ago(p.lastSeenMs, s.now)), td(p.rttMs === null ? "—" : ms(p.rttMs)), td(st.text, st.cls),
    ];
  });
  fillRows("fleet-rows", rows, "No peers heard yet.", 7);
  const ours = (s.peers ?? []).filter((p) => p.ours).length;
  setText("fleet-summary", `${count(s.peers.length, "peer", "peers")} (${ours} DeltaFleet, ${s.peers.length - ours} course). This node holds ${count(log.entries, "entry", "entries")}; ${converged} of ${ours} DeltaFleet peers match it${log.lacking ? `; ${count(log.lacking, "entry", "entries")} still to fetch` : ""}.`);
  shown("fleet");
  return { converged, ours };
}

/** A peer's log against ours: the same set, or how many entries apart. */
export function logState(ours, peer) {
  if (!peer || peer.entries === null) return { text: "not said yet", cls: "state-warn" };
  if (peer.set === ours.set.slice(0, peer.set.length) && peer.entries === ours.entries) return { text: `converged (${count(peer.entries, "entry", "entries")})`, cls: "state-ok", converged: true };
  const d = ours.entries - peer.entries;
  if (d > 0) return { text: `behind by ${count(d, "entry", "entries")}`, cls: "state-warn" };
  if (d < 0) return { text: `ahead by ${count(-d, "entry", "entries")}`, cls: "state-warn" };
  return { text: `differs (${count(peer.entries, "entry", "entries")}, another set)`, cls: "state-bad" };
}
