// The classroom page: polls this node every POLL_MS and redraws each section in place. Lessons
// (with recall, which costs the node model passes) are fetched again only when the log changes;
// training only when the node has the route.

import { getJson } from "./api.js";
import { setupAsk } from "./ask.js";
import { count, setText, shown } from "./dom.js";
import { renderFleet } from "./fleet.js";
import { renderLessons } from "./lessons.js";
import { trainingView } from "./training.js";
import { transfersView } from "./transfers.js";

const POLL_MS = 1500;

const state = { lessons: [], lessonsKey: "", refreshLessons: () => { state.lessonsKey = ""; } };
const renderTransfers = transfersView();
const renderTraining = trainingView();
let routes = [];
let lessonsBusy = false;

async function poll() {
  try {
    const s = await getJson("/status");
    setText("node-id", `node ${s.id}`);
    setText("conn", `Connected: ${s.ready ? "ready" : "starting"}, ${count(s.log?.entries ?? 0, "entry", "entries")}, model ${String(s.digest).slice(0, 12)}. Updates every ${POLL_MS / 1000} s.`);
    const held = renderFleet(s);
    if (state.taughtVersion) teachProgress(state.taughtVersion, s, held);
    renderTransfers(s);
    const key = `${s.digest}/${s.log?.set}`;
    if (key !== state.lessonsKey && !lessonsBusy) {
      lessonsBusy = true;
      getJson("/lessons?recall=1").then((r) => {
        state.lessons = r.lessons;
        state.lessonsKey = key;
        renderLessons(r.lessons, s.now);
      }).catch((e) => setText("lessons-summary", `Could not read lessons: ${e.message}`)).finally(() => { lessonsBusy = false; });
    }
    renderTraining(routes.includes("/train") ? await getJson("/train") : null);
  } catch (e) {
    setText("conn", `Not connected: ${e.message}. Retrying every ${POLL_MS / 1000} s.`);
  }
}

/** After a teach here: how far the lesson has spread, by the peers whose log now matches ours. */
function teachProgress(version, s, held) {
  const mine = (s.applied ?? []).some((e) => e.version === version);
  if (!mine) return;
  setText("teach-progress", held.converged === held.ours
    ? `The lesson has reached every node: all ${held.ours} DeltaFleet peers hold what this node holds.`
    : `Spreading: ${held.converged} of ${held.ours} DeltaFleet peers hold what this node holds…`);
}

async function start() {
  setupAsk(state);
  shown("ask");
  routes = (await getJson("/page/routes.json").catch(() => ({ routes: [] }))).routes;
  for (;;) {
    await poll();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

start();
