// The node's log: pino JSON lines (one event per line, `ev` names it) for machines, pino-pretty for
// people at a terminal. Lines go through a replaceable sink so the interactive prompt can print them
// above the line being typed instead of through it.

import { pino, type Logger, type Level } from "pino";
import pinoPretty from "pino-pretty";

export type LogFormat = "json" | "pretty";
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export interface NodeLogger {
  logger: Logger;
  /** Replaces where formatted lines go (default: stdout). */
  setSink(sink: (line: string) => void): void;
  /** Back to stdout. */
  resetSink(): void;
}

export interface LoggerOptions {
  nodeId: string;
  level: Level | "silent";
  format: LogFormat;
  /** Where lines go at first; stdout when absent. */
  sink?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions): NodeLogger {
  const toStdout = (line: string): void => void process.stdout.write(line);
  let sink = opts.sink ?? toStdout;
  const prettify = opts.format === "pretty"
    ? pinoPretty.prettyFactory({ colorize: Boolean(process.stdout.isTTY), translateTime: "HH:MM:ss.l", ignore: "pid,hostname,node,mod", messageFormat: "{if mod}[{mod}] {end}{msg}", singleLine: true })
    : undefined;
  const destination = {
    write(s: string): void {
      sink(prettify ? prettify(s) : s);
    },
  };
  const logger = pino({ level: opts.level, base: { node: opts.nodeId }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return {
    logger,
    setSink: (s) => { sink = s; },
    resetSink: () => { sink = opts.sink ?? toStdout; },
  };
}
