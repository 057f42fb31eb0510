// What each node remembers of the fleet's lessons, from its own weights (GET /lessons?recall=1):
// the lessons it holds, how many of the newest it asked itself, how many it answered as taught. It
// informs a check; it never fails one: a small model forgetting is what the fleet measures, not a fault.

import type { RecalledLesson } from "../../../node/src/node/recall.js";

export interface NodeRecall {
  held: number;
  asked: number;
  recalled: number;
}

export function recallOf(lessons: readonly RecalledLesson[]): NodeRecall {
  const asked = lessons.filter((l) => l.recall !== null);
  return { held: lessons.length, asked: asked.length, recalled: asked.filter((l) => l.recall!.recalled).length };
}

/** "pi-1 recalls 7 of 10 lessons asked (12 held)"; "pi-1 holds no lessons". */
export function describeRecall(nodeId: string, r: NodeRecall): string {
  if (r.held === 0) return `${nodeId} holds no lessons`;
  return `${nodeId} recalls ${r.recalled} of ${r.asked} lesson${r.asked === 1 ? "" : "s"} asked (${r.held} held)`;
}
