// The docker CLI as fleetctl's image and sim commands use it: a missing or stopped engine is one
// clear error, a failed call names what it was for.

import { FleetError, type ErrorCode } from "./errors.js";
import { run, type ExecResult } from "./exec.js";

export interface DockerCall {
  timeoutMs?: number;
  /** Written to the command's stdin. */
  input?: string;
  onLine?: (line: string) => void;
}

export async function docker(args: string[], o: DockerCall = {}): Promise<ExecResult> {
  try {
    return await run("docker", args, { timeoutMs: o.timeoutMs ?? 120_000, input: o.input, onStdoutLine: o.onLine });
  } catch (e) {
    if (e instanceof FleetError && e.code === "TOOL_MISSING") {
      throw new FleetError("DOCKER_MISSING", "docker is not installed on this machine", { suggestion: "apt-get install docker.io, then scripts/start-dockerd.sh" });
    }
    throw e;
  }
}

/** stdout of a call that must succeed; otherwise a FleetError of `code` saying `what` failed. */
export async function dockerOk(args: string[], what: string, o: DockerCall & { code?: ErrorCode } = {}): Promise<string> {
  const r = await docker(args, o);
  if (r.exitCode !== 0) {
    const why = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-12).join("\n");
    throw new FleetError(o.code ?? "COMMAND_FAILED", `${what}: docker ${args[0]} failed${r.timedOut ? " (timed out)" : ""}: ${why}`, {
      suggestion: /no space left/i.test(why) ? "free disk space (docker system prune) and run it again" : undefined,
    });
  }
  return r.stdout.trim();
}

/** Fails with what to do when the engine does not answer. */
export async function requireEngine(): Promise<void> {
  const r = await docker(["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) {
    throw new FleetError("DOCKER_MISSING", `the Docker daemon is not answering: ${r.stderr.trim().split("\n")[0]}`, {
      suggestion: "start it (scripts/start-dockerd.sh, or `systemctl start docker`)",
    });
  }
}

/** The image's architecture, or undefined when there is no such image. */
export async function imageArch(image: string): Promise<string | undefined> {
  const r = await docker(["image", "inspect", "--format", "{{.Architecture}}", image], { timeoutMs: 30_000 });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}
