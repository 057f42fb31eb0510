// fleetctl as the Docker fleet tests drive it: in this process, stdout kept for the JSON the test
// asserts on, stderr (progress, errors) passed through so a failing step shows what it said.

import type { Io } from "../../../fleetctl/src/io.js";
import { runCli } from "../../../fleetctl/src/main.js";

export async function fleetctl(...args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const io: Io = { out: (t) => void (stdout += t), err: (t) => void process.stderr.write(t), isTty: false };
  process.stderr.write(`\n$ fleetctl ${args.join(" ")}\n`);
  const code = await runCli(args, io);
  return { code, stdout };
}
