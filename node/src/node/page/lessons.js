// Lessons: every lesson the fleet holds, with this node's answer to it now (GET /lessons?recall=1;
// the node caches answers per model digest and asks only the newest few).

import { ago, count, fillRows, setText, shown, td } from "./dom.js";

export function renderLessons(lessons, now) {
  const rows = [...lessons].reverse().map((l) => [
    td(l.question), td(l.answer), td(l.author), td(ago(l.at, now)),
    l.recall === null ? td("not asked (older lessons)", "muted")
      : td(`${l.recall.recalled ? "recalled" : "differs"}: "${l.recall.answer}"`, l.recall.recalled ? "state-ok" : "state-warn"),
  ]);
  fillRows("lesson-rows", rows, "No lessons yet: ask a question above and teach the right answer.", 5);
  const asked = lessons.filter((l) => l.recall !== null);
  const recalled = asked.filter((l) => l.recall.recalled).length;
  setText("lessons-summary", lessons.length === 0 ? "The fleet has no lessons yet."
    : `${count(lessons.length, "lesson", "lessons")}; this node recalls ${recalled} of the ${asked.length} newest it asked itself.`);
  shown("lessons");
}
