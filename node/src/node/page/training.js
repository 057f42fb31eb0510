// Training: the running or last job from GET /train (round, members, stragglers, loss per round).
// A node without the route (routes.json does not list it) says so plainly, and never asks for it.

import { lineChart } from "./chart.js";
import { $, fillFacts, setText, shown } from "./dom.js";

export function trainingView() {
  let chart;
  return (job) => {
    if (job === null) {
      setText("training-summary", "No training job yet: this node does not run training.");
      fillFacts("training-facts", [["state", "no training"]]);
      return shown("training");
    }
    if (job.state === "idle" || job.job === null) {
      setText("training-summary", "No training job yet.");
      fillFacts("training-facts", [["state", "idle"]]);
      return shown("training");
    }
    setText("training-summary", `Job ${job.job}: ${job.state}${job.error ? ` (${job.error})` : ""}, round ${job.round} of ${job.rounds}, ${job.mode}.`);
    const strag = (job.stragglers ?? []).map((x) => `${x.node} (round ${x.round})`).join(", ") || "none";
    fillFacts("training-facts", [
      ["state", job.state], ["round", `${job.round} of ${job.rounds}`], ["mode", job.mode], ["coordinator", job.coordinator ?? "—"],
      ["members", (job.members ?? []).join(", ") || "—"], ["stragglers", strag],
      ["last loss", job.loss?.length ? job.loss[job.loss.length - 1].toFixed(4) : "—"],
    ]);
    if (!chart && window.uPlot) chart = lineChart($("loss-chart"), [{ label: "loss" }]);
    const loss = job.loss ?? [];
    chart?.setData([loss.map((_, i) => i + 1), loss]);
    shown("training");
  };
}
