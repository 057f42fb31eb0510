// Where a command's output goes. Commands receive this instead of touching process.stdout, so a
// test builds a program whose output it can read.

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal (live progress redraws); false in CI logs and tests. */
  isTty: boolean;
}

export const processIo: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  isTty: Boolean(process.stdout.isTTY),
};

/** An Io that keeps everything, for tests. */
export function memoryIo(): Io & { stdout: () => string; stderr: () => string } {
  let o = "";
  let e = "";
  return {
    out: (t) => void (o += t),
    err: (t) => void (e += t),
    isTty: false,
    stdout: () => o,
    stderr: () => e,
  };
}

/** Where a long command's step lines go: stdout for people, stderr beside --json so the JSON on
 * stdout stays parseable while a script's log still shows how far it got. */
export function progressTo(io: Io, json: boolean): (line: string) => void {
  return (l) => (json ? io.err : io.out)(`  ${l}\n`);
}

/** Prints `data` as JSON or, for people, with `human(data)`: one source for both. */
export function emit<T>(io: Io, json: boolean, data: T, human: (d: T) => string): void {
  io.out(json ? JSON.stringify(data, null, 2) + "\n" : human(data));
}

/** A plain-text table: left-aligned columns, two spaces apart. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
