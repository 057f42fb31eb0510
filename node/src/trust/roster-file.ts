// The roster as a file on disk (--roster): read at start, where a bad line stops the node, then
// polled while it runs, so a revocation written by fleetctl or an editor takes effect within one
// poll without a restart. A bad new version is reported and the roster in force kept: a half-saved
// file must not open the fleet, nor shut every member out.

import { readFileSync } from "node:fs";
import { parseRoster, RosterError, type Roster } from "./roster.js";

/** How often the file's content is compared with the last read (the file is a few KB). */
export const ROSTER_POLL_MS = 2_000;

export class RosterFileError extends Error {}

/** The roster in `file` and its text, or a RosterFileError naming the file and the bad line. */
export function readRosterFile(file: string): { roster: Roster; text: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new RosterFileError(`roster ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return { roster: parseRoster(text), text };
  } catch (e) {
    if (e instanceof RosterError) throw new RosterFileError(`roster ${file}: ${e.message}`);
    throw e;
  }
}

export interface RosterWatch { stop(): void }

/**
 * Polls `file` every `everyMs`: a changed, valid content → onChange; a changed, bad one (or a file
 * gone) → onError once per distinct content, the old roster kept.
 */
export function watchRosterFile(file: string, lastText: string, on: { change(r: Roster): void; error(message: string): void }, everyMs = ROSTER_POLL_MS): RosterWatch {
  let last = lastText;
  let lastBad: string | undefined;
  let unreadable: string | undefined;
  const timer = setInterval(() => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      const why = `roster ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the roster in force is kept`;
      if (unreadable !== why) on.error(why);
      unreadable = why;
      return;
    }
    unreadable = undefined;
    if (text === last || text === lastBad) return;
    try {
      const roster = parseRoster(text);
      last = text;
      lastBad = undefined;
      on.change(roster);
    } catch (e) {
      if (!(e instanceof RosterError)) throw e;
      lastBad = text;
      on.error(`roster ${file}: ${e.message}; the roster in force is kept`);
    }
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
