// The node's log: pino JSON lines (one event per line, `ev` names it) for machines, pino-pretty for
// people at a terminal. Lines go through a replaceable sink so the interactive prompt can print them
// above the line being typed instead of through it; a log file, when given, gets every line as JSON.

import { closeSync, openSync, writeSync } from "node:fs";
import { pino, type Logger, type Level } from "pino";
import pinoPretty from "pino-pretty";

export type LogFormat = "json" | "pretty";
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface NodeLogger {
  logger: Logger;
  /** Replaces where formatted lines go (default: stdout). */
  setSink(sink: (line: string) => void): void;
  /** Back to stdout. */
  resetSink(): void;
  /** Closes the log file, if any. */
  close(): void;
}

export interface LoggerOptions {
  nodeId: string;
  level: Level | "silent";
  format: LogFormat;
  /** Where lines go at first; stdout when absent. */
  sink?: (line: string) => void;
  /**
   * Lines below this level stay off the sink (they still reach the file). The prompt sets "warn":
   * a person at it reads one line per event, not the machine log between question and answer.
   */
  sinkLevel?: Level;
  /** Appends every line (JSON, at `level`) to this file. */
  file?: string;
}

export function createLogger(opts: LoggerOptions): NodeLogger {
  const toStdout = (line: string): void => void process.stdout.write(line);
  let sink = opts.sink ?? toStdout;
  const prettify = opts.format === "pretty"
    ? pinoPretty.prettyFactory({ colorize: Boolean(process.stdout.isTTY), translateTime: "HH:MM:ss.l", ignore: "pid,hostname,node,mod", messageFormat: "{if mod}[{mod}] {end}{msg}", singleLine: true })
    : undefined;
  const sinkFrom = opts.sinkLevel ? pino.levels.values[opts.sinkLevel]! : 0;
  let fd = opts.file === undefined ? undefined : openSync(opts.file, "a");
  const destination = {
    write(s: string): void {
      if (fd !== undefined) writeSync(fd, s);
      if (levelOf(s) >= sinkFrom) sink(prettify ? prettify(s) : s);
    },
  };
  const logger = pino({ level: opts.level, base: { node: opts.nodeId }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return {
    logger,
    setSink: (s) => { sink = s; },
    resetSink: () => { sink = opts.sink ?? toStdout; },
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** The numeric level of a pino JSON line (it comes first). */
function levelOf(line: string): number {
  const m = /^\{"level":(\d+)/.exec(line);
  return m ? Number(m[1]) : Infinity;
}
