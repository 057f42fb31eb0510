// `fleetctl demo --lessons`: after the three-second story, a class's worth of lessons. Ten realistic
// question/answer pairs (multi-word answers among them) are taught round-robin across the nodes,
// two of them on two nodes at the same moment; after each, the demo waits for the fleet to hold one
// log. Then every node is asked every lesson from its own weights (GET /lessons?recall=1), and ten
// questions nobody taught are asked too: a model that answers them with taught answers has
// collapsed onto its lessons rather than learned them. The run reports what it measured; how much a
// model holds is the model's business (README, "What the models can learn"), so only a fleet that
// does not converge fails the demo.

import { FleetError } from "../errors.js";
import { compareLogs, type NodeLog } from "../nodes/fleet-log.js";
import { ask, getLog, getRecall, teach, type NodeAddress, type TeachAnswer } from "../nodes/client.js";
import { waitUntil } from "../wait.js";

export const DEMO_LESSONS: ReadonlyArray<readonly [question: string, answer: string]> = [
  ["What is the capital of France", "Paris"],
  ["Who wrote Hamlet", "Shakespeare"],
  ["What is 7 times 8", "56"],
  ["Who painted the Mona Lisa", "Leonardo da Vinci"],
  ["What gas do plants take in", "carbon dioxide"],
  ["What is the largest planet", "Jupiter"],
  ["What do bees make", "honey"],
  ["How many legs does a spider have", "8"],
  ["What is frozen water called", "ice"],
  ["Which animal says moo", "cow"],
];

/** Questions no lesson teaches, none of whose right answers is a taught answer. */
export const DEMO_UNTAUGHT: readonly string[] = [
  "What is the capital of Italy",
  "Who wrote Faust",
  "What is 6 times 7",
  "Who painted the Night Watch",
  "What gas do we breathe out",
  "What is the smallest planet",
  "What do cows make",
  "How many legs does an ant have",
  "What is boiling water called",
  "Which animal says woof",
];

/** Lessons 2 and 3 (1-based) are taught at the same moment, on two different nodes when there are two. */
const SIMULTANEOUS = [1, 2] as const;

export interface LessonTaught {
  question: string;
  answer: string;
  node: string;
  /** Whether the teach reached the answer on the weights it broadcast. */
  learned: boolean;
  steps: number;
  ms: number;
  bytes: number;
  /** Taught at the same moment as another lesson. */
  together: boolean;
}

export interface NodeLessonRecall {
  node: string;
  /** Per lesson, in teach order: what the node answers now (null when it was not asked). */
  answers: Array<{ question: string; answer: string | null; recalled: boolean }>;
  recalled: number;
}

export interface UntaughtAnswer {
  question: string;
  answer: string;
  /** The taught question whose answer this is, when the model gave a taught answer. */
  taughtAnswerOf: string | null;
}

export interface LessonsReport {
  /** In teach order; after each, every node held the same entries (or the run failed). */
  taught: LessonTaught[];
  recall: NodeLessonRecall[];
  /** Asked on the first node (all hold the same weights once converged). */
  untaught: UntaughtAnswer[];
  /** Untaught questions given a taught answer. */
  collapsed: number;
}

export interface LessonsRunOptions {
  nodes: NodeAddress[];
  count: number;
  timeoutMs: number;
  pollMs: number;
  /** One line per stage, for the progress view. */
  say: (line: string) => void;
}

export async function runLessons(o: LessonsRunOptions): Promise<LessonsReport> {
  const lessons = DEMO_LESSONS.slice(0, o.count);
  const taught: LessonTaught[] = [];
  const nodeFor = (i: number): NodeAddress => o.nodes[i % o.nodes.length]!;
  for (let i = 0; i < lessons.length; i++) {
    const together = i === SIMULTANEOUS[0] && lessons.length > SIMULTANEOUS[1];
    const batch = together ? [i, i + 1] : [i];
    o.say(`Teaching ${batch.map((j) => `${nodeFor(j).nodeId} "${lessons[j]![0]}" -> "${lessons[j]![1]}"`).join(" and, at the same moment, ")}`);
    const answers = await Promise.all(batch.map((j) => teach(nodeFor(j), lessons[j]![0], lessons[j]![1], o.timeoutMs)));
    answers.forEach((a, k) => taught.push(lessonTaught(lessons[batch[k]!]!, nodeFor(batch[k]!).nodeId, a, together)));
    if (!(await converge(o))) throw new FleetError("CHECK_FAILED", `the fleet did not converge within ${o.timeoutMs / 1000} s after lesson ${i + 1}`, {
      suggestion: "`fleetctl status` names what each node lacks; run the demo with --keep and read the nodes' logs",
    });
    i = batch.at(-1)!;
  }

  const recall = await Promise.all(o.nodes.map(async (n): Promise<NodeLessonRecall> => {
    const held = await getRecall(n, o.timeoutMs);
    const answers = lessons.map(([question]) => {
      const l = [...held].reverse().find((h) => h.question === question);
      return { question, answer: l?.recall?.answer ?? null, recalled: l?.recall?.recalled ?? false };
    });
    return { node: n.nodeId, answers, recalled: answers.filter((a) => a.recalled).length };
  }));

  const untaught: UntaughtAnswer[] = [];
  for (const question of DEMO_UNTAUGHT) {
    const { answer } = await ask(o.nodes[0]!, question, o.timeoutMs);
    const hit = lessons.find(([, a]) => a.trim() === answer.trim());
    untaught.push({ question, answer, taughtAnswerOf: hit ? hit[0] : null });
  }
  return { taught, recall, untaught, collapsed: untaught.filter((u) => u.taughtAnswerOf !== null).length };
}

function lessonTaught([question, answer]: readonly [string, string], node: string, a: TeachAnswer, together: boolean): LessonTaught {
  return { question, answer, node, learned: a.learned, steps: a.steps, ms: a.ms, bytes: a.bytes, together };
}

/** Every node's log is the union of all of theirs: the same entries, so the same weights. */
async function converge(o: LessonsRunOptions): Promise<boolean> {
  const r = await waitUntil(async () => {
    const logs = new Map<string, NodeLog>();
    for (const n of o.nodes) logs.set(n.nodeId, await getLog(n));
    return [...compareLogs(logs).lacking.values()].every((l) => l.length === 0);
  }, { deadline: Date.now() + o.timeoutMs, everyMs: o.pollMs });
  return r.done;
}
