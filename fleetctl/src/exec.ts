// Every external program fleetctl runs goes through here: argument arrays (never a shell),
// a timeout, and an explicit environment. Tests read `execLog` to see what would have run.

import { execa } from "execa";
import { FleetError } from "./errors.js";

export interface ExecOptions {
  /** Kill the program after this long. */
  timeoutMs: number;
  cwd?: string;
  /** Added to the minimal environment below; nothing else of fleetctl's environment leaks through. */
  env?: Record<string, string>;
  input?: string;
  /** Called with each stdout line as it arrives (for progress). */
  onStdoutLine?: (line: string) => void;
  /** Called with each stderr line as it arrives. */
  onStderrLine?: (line: string) => void;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExecCall {
  file: string;
  args: string[];
  cwd: string | undefined;
  env: Record<string, string>;
  timeoutMs: number;
}

/** What ran, in order (capped), so tests can assert on the exact argument arrays. */
export const execLog: ExecCall[] = [];
const EXEC_LOG_MAX = 200;

/** The variables a child sees: enough to find programs, a home, a locale and an SSH agent. */
export function baseEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "SSH_AUTH_SOCK", "DOCKER_HOST", "TMPDIR"];
  const env: Record<string, string> = {};
  for (const k of keep) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/** Runs `file` with `args`; resolves with the exit code (non-zero is not an error here). A
 * program that is not installed becomes a TOOL_MISSING FleetError (callers name the fix). */
export async function run(file: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
  const env = { ...baseEnv(), ...(opts.env ?? {}) };
  execLog.push({ file, args: [...args], cwd: opts.cwd, env, timeoutMs: opts.timeoutMs });
  if (execLog.length > EXEC_LOG_MAX) execLog.shift();

  const sub = execa(file, args, {
    cwd: opts.cwd,
    env,
    extendEnv: false,
    timeout: opts.timeoutMs,
    reject: false,
    stripFinalNewline: true,
    input: opts.input,
    stdin: opts.input === undefined ? "ignore" : undefined,
    lines: false,
    buffer: true,
  });
  if (opts.onStdoutLine) lineSplitter(sub.stdout, opts.onStdoutLine);
  if (opts.onStderrLine) lineSplitter(sub.stderr, opts.onStderrLine);
  const r = await sub;
  if (r.failed && r.exitCode === undefined && !r.timedOut) {
    const code = (r.cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === "ENOENT") {
      throw new FleetError("TOOL_MISSING", `${file} is not installed (not found on PATH)`, { detail: { tool: file } });
    }
    throw new FleetError("COMMAND_FAILED", `could not run ${file}: ${r.shortMessage}`);
  }
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), timedOut: r.timedOut };
}

function lineSplitter(stream: NodeJS.ReadableStream | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  let rest = "";
  stream.on("data", (chunk: Buffer | string) => {
    rest += chunk.toString();
    let i: number;
    while ((i = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, i));
      rest = rest.slice(i + 1);
    }
  });
  stream.on("end", () => {
    if (rest) onLine(rest);
    rest = "";
  });
}
