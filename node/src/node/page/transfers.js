// Transfers: the overlay's counters, a live chart of their rates, what is in flight and what ended
// recently (sent, or merged with its time to merge), all from /status.

import { lineChart } from "./chart.js";
import { $, ago, bytes, fillFacts, fillRows, ms, setText, shown, td } from "./dom.js";

/** Points kept: two minutes at one poll each 1.5 s; the chart's x axis spans the same, in seconds. */
const POINTS = 80;
const WINDOW_S = 120;

export function transfersView() {
  let chart;
  let last;
  const t = [], frags = [], retx = [], naks = [];
  return (s) => {
    const c = s.counters ?? {};
    fillFacts("transfer-counters", [
      ["fragments sent", c.fragmentsSent ?? 0], ["fragments received", c.fragmentsReceived ?? 0],
      ["retransmits", c.retransmits ?? 0], ["NAKs sent", c.naksSent ?? 0], ["NAKs received", c.naksReceived ?? 0],
      ["payloads delivered", c.payloadsDelivered ?? 0],
    ]);
    const now = s.now / 1000;
    if (last && now > last.now) {
      const dt = now - last.now;
      t.push(now); frags.push(((c.fragmentsReceived ?? 0) - last.f) / dt); retx.push(((c.retransmits ?? 0) - last.r) / dt); naks.push(((c.naksSent ?? 0) - last.n) / dt);
      if (t.length > POINTS) [t, frags, retx, naks].forEach((a) => a.shift());
    }
    last = { now, f: c.fragmentsReceived ?? 0, r: c.retransmits ?? 0, n: c.naksSent ?? 0 };
    if (!chart && window.uPlot) {
      chart = lineChart($("transfer-chart"), [{ label: "fragments/s" }, { label: "retransmits/s", dash: [6, 4] }, { label: "NAKs/s", dash: [2, 3] }],
        { xRange: () => [-WINDOW_S, 0], yAtLeast: 5 });
    }
    chart?.setData([t.map((x) => x - now), frags, retx, naks]);

    fillRows("inflight-rows", (s.transfers ?? []).map((x) => [
      td(x.version), td(x.from), td(`${x.have} of ${x.total ?? "?"}`), td(ms(s.now - x.startedAt)),
    ]), "None in flight.", 4);
    fillRows("recent-rows", [...(s.recent ?? [])].reverse().map((x) => [
      td(x.version.split("~").slice(0, 2).join("~")), td(x.dir === "sent" ? "sent" : x.fetched ? "merged (fetched)" : "merged"), td(x.from), td(bytes(x.bytes)),
      td(x.dir === "sent" ? "—" : ms(x.latencyMs)), td(ago(x.at, s.now)),
    ]), "Nothing sent or merged since this node started.", 6);
    const inflight = (s.transfers ?? []).length;
    setText("transfers-summary", `${inflight} in flight; ${(s.recent ?? []).length} sent or merged since start.`);
    shown("transfers");
  };
}
