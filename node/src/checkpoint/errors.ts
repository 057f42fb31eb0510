// One error type for every file the checkpoint layer reads: it names the file, the problem and,
// where there is one, what to do about it. The CLI prints `message` alone, never a stack.

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly hint?: string,
  ) {
    super(`${file}: ${problem}${hint ? ` (${hint})` : ""}`);
    this.name = "CheckpointError";
  }
}
