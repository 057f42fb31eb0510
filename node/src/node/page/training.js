// Training: the running or last job from GET /train (round, members, stragglers, loss per round).
// A node without the route (routes.json does not list it) says so plainly, and never asks for it.

import { lineChart } from "./chart.js";
import { $, bytes, fillFacts, setText, shown } from "./dom.js";

export function trainingView() {
  let chart;
  let rounds = 1;
  return (job) => {
    if (job === null) {
      setText("training-summary", "No training job yet: this node does not run training (an older version).");
      fillFacts("training-facts", [["state", "no training"]]);
      return shown("training");
    }
    if (job.state === "idle" || job.job === null) {
      setText("training-summary", "No training job yet.");
      fillFacts("training-facts", [["state", "idle"]]);
      return shown("training");
    }
    const loss = job.loss ?? [];
    const last = loss.length ? loss[loss.length - 1].toFixed(4) : "—";
    setText("training-summary", `Job ${job.job}: ${job.state}${job.error ? ` (${job.error})` : ""}, round ${job.round} of ${job.rounds} (${job.mode}), ${job.coordinator ? `coordinated by ${job.coordinator}` : "no coordinator (each node reports its own rounds)"}.`);
    const strag = (job.stragglers ?? []).map((x) => `${x.node} (round ${x.round})`).join(", ") || "none";
    fillFacts("training-facts", [
      ["state", job.state], ["round", `${job.round} of ${job.rounds}`], ["members", (job.members ?? []).join(", ") || "—"],
      ["stragglers", strag], ["loss before", job.lossBefore === null || job.lossBefore === undefined ? "—" : job.lossBefore.toFixed(4)],
      ["loss now", last], ["bytes moved", bytes((job.bytes ?? []).reduce((a, b) => a + b, 0))],
    ]);
    rounds = Math.max(1, job.rounds);
    if (!chart && window.uPlot) chart = lineChart($("loss-chart"), [{ label: "loss" }], { wholeX: true, xRange: () => [0, rounds] });
    // Round 0 is the loss before the job: the line starts where the model started.
    const points = job.lossBefore === null || job.lossBefore === undefined ? loss : [job.lossBefore, ...loss];
    const first = points.length > loss.length ? 0 : 1;
    chart?.setData([points.map((_, i) => i + first), points]);
    shown("training");
  };
}
