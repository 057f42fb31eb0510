// The course's interactive loop on a terminal: `Mode: [t]rain / [q]uery / [x]exit`. Deltas merged in
// the background, and log lines, are printed above the line being typed, which is then drawn again
// with the partial input, so nothing the person types is garbled or lost. Each event is one line
// for a person (the machine log stays in the log: only its warnings reach this screen).

import { parseEntryName } from "../log/entry.js";
import { clearLine, createInterface, cursorTo, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { MergedEvent, RejectedEvent, TeachOutcome } from "./runtime.js";
import { TEXT_LIMIT_CHARS } from "./http-api.js";
import type { AskResult } from "./seams.js";
import type { HeldLesson } from "../log/ledger.js";
import { taughtLesson, taughtNote } from "./taught.js";

export interface PromptBackend {
  ask(question: string): Promise<AskResult>;
  teach(question: string, answer: string): Promise<TeachOutcome>;
  /** The fleet's lessons held, to say when a question is one of them. */
  lessons(): HeldLesson[];
  on(ev: "merged", fn: (e: MergedEvent) => void): unknown;
  on(ev: "rejected", fn: (e: RejectedEvent) => void): unknown;
  off(ev: "merged" | "rejected", fn: (...a: never[]) => void): unknown;
}

export interface PromptOptions {
  backend: PromptBackend;
  input: Readable;
  output: Writable;
  /** Routes the node's log lines through the prompt while it runs (NodeLogger.setSink). */
  setLogSink?: (sink: ((line: string) => void) | undefined) => void;
}

export const MODE_PROMPT = "Mode: [t]rain / [q]uery / [x]exit > ";

class Closed extends Error {}

/** Runs until the person types x, presses Ctrl-C or closes the input. */
export async function runPrompt(o: PromptOptions): Promise<void> {
  const rl = createInterface({ input: o.input, output: o.output, terminal: true, historySize: 100 });
  let waiting = false;   // a question is on screen, waiting for a line
  let closed = false;
  let cancel: (() => void) | undefined;

  /** Prints above the line being typed and draws the prompt with the partial input again. */
  const above = (text: string): void => {
    if (closed) { o.output.write(text.endsWith("\n") ? text : text + "\n"); return; }
    clearLine(o.output, 0);
    cursorTo(o.output, 0);
    o.output.write(text.endsWith("\n") ? text : text + "\n");
    if (waiting) rl.prompt(true);
  };
  const say = (text: string): void => void o.output.write(text + "\n");
  const ask = (q: string): Promise<string> => new Promise((resolve, reject) => {
    if (closed) return reject(new Closed());
    waiting = true;
    cancel = () => reject(new Closed());
    rl.question(q, (a) => { waiting = false; cancel = undefined; resolve(a.trim()); });
  });

  const onMerged = (e: MergedEvent): void => above(mergedLine(e));
  const onRejected = (e: RejectedEvent): void => above(rejectedLine(e));
  o.backend.on("merged", onMerged);
  o.backend.on("rejected", onRejected);
  o.setLogSink?.((line) => above(line.replace(/\n$/, "")));
  rl.on("SIGINT", () => rl.close());
  rl.on("close", () => { closed = true; waiting = false; cancel?.(); });

  const learn = async (question: string, answer: string): Promise<void> => {
    if (question.length > TEXT_LIMIT_CHARS || answer.length > TEXT_LIMIT_CHARS) {
      say(`Too long to learn: questions and answers are limited to ${TEXT_LIMIT_CHARS} characters.`);
      return;
    }
    say("Training on the correction...");
    try {
      say(taughtLine(await o.backend.teach(question, answer)));
    } catch (e) {
      say(`Could not teach: ${(e as Error).message}`);
    }
  };

  try {
    for (;;) {
      const mode = (await ask(MODE_PROMPT)).toLowerCase();
      if (mode === "x" || mode === "exit") break;
      if (mode === "q" || mode === "query") {
        const q = await ask("Question: ");
        if (!q) continue;
        let r: AskResult;
        try {
          r = await o.backend.ask(q);
        } catch (e) {
          say(`Could not answer: ${(e as Error).message}`);
          continue;
        }
        say(`Answer: ${r.answer}`);
        const taught = taughtLesson(q, o.backend.lessons());
        if (taught) say(taughtNote(taught));
        const ok = (await ask("Is this correct? [y/n] ")).toLowerCase();
        if (ok.startsWith("n")) {
          const right = await ask("Correct answer: ");
          if (right) await learn(q, right);
        }
      } else if (mode === "t" || mode === "train") {
        const q = await ask("Question: ");
        const a = q ? await ask("Answer: ") : "";
        if (q && a) await learn(q, a);
      } else if (mode !== "") {
        say(`Unknown mode "${mode}": type t, q or x.`);
      }
    }
  } catch (e) {
    if (!(e instanceof Closed)) throw e;
  } finally {
    o.backend.off("merged", onMerged);
    o.backend.off("rejected", onRejected);
    o.setLogSink?.(undefined);
    closeQuietly(rl);
  }
}

/** "1 step", "2 steps". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en")} ${n === 1 ? one : many}`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// What a person reads after each event. The training loss is left out: it is measured before the
// last step, on the answer tokens only, and says nothing a student can check; whether the model
// now gives the taught answer does.
export function taughtLine(t: TeachOutcome): string {
  const trained = t.learned
    ? `Learned "${t.answer}" in ${count(t.steps, "step")} (${seconds(t.ms)})`
    : `Trained ${count(t.steps, "step")} (${seconds(t.ms)}), but it still answers "${t.answer}"`;
  const line = `${trained}; sent to the fleet as lesson ${shortName(t.version)} (${count(t.bytes, "byte")} in ${count(t.chunks, "fragment")}).`;
  const notKept = t.notKept ?? [];
  const kept = (t.rehearsed ?? 0) - notKept.length;
  const rehearsal = !t.rehearsed ? "" : notKept.length === 0
    ? ` Kept all ${count(t.rehearsed, "earlier lesson")} it rehearsed.`
    : ` Kept ${kept} of ${count(t.rehearsed, "earlier lesson")} it rehearsed; lost: ${notKept.map((q) => JSON.stringify(q)).join(", ")}.`;
  return line + rehearsal;
}

export function mergedLine(e: MergedEvent): string {
  const how = e.fetched ? "caught up from the fleet" : `${seconds(e.latencyMs)} after it was announced`;
  return `Merged ${shortName(e.version)} from ${e.from} (${count(e.keys, "tensor")}, ${how}); model now ${e.digest.slice(0, 12)}.`;
}

export function rejectedLine(e: RejectedEvent): string {
  return `Rejected ${shortName(e.version)} from ${e.from} (${e.reason}): ${e.message}`;
}

function closeQuietly(rl: Interface): void {
  try { rl.close(); } catch { /* already closed */ }
}

/** An entry name `author~seq~sha256` as a person reads it (`Pi-1#3`); anything else as it is. */
export function shortName(version: string): string {
  const id = parseEntryName(version);
  return id ? `${id.author}#${id.seq}` : version;
}
