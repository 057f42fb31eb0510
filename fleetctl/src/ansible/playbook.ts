// Runs one of the repository's playbooks against an inventory, shows per-host progress while it
// runs, and returns a per-host summary. Failures become FleetErrors that name the host.

import { join } from "node:path";
import { FleetError } from "../errors.js";
import { run } from "../exec.js";
import { ansibleMissingOr } from "../inventory.js";
import type { Io } from "../io.js";
import { table } from "../io.js";
import { ansibleDir } from "../paths.js";
import { PlaybookProgress, type HostCounts, type ProgressEvent, type TaskResult } from "./progress.js";

export type PlaybookName = "provision" | "up" | "down" | "restart" | "logs" | "roster";

export interface PlaybookOptions {
  playbook: PlaybookName;
  inventory: string;
  io: Io;
  /** Ansible's own output, raw, instead of the per-host progress. */
  verbose?: boolean;
  /** No progress lines at all (--json). */
  quiet?: boolean;
  /** Host names to limit the run to. */
  limit?: string[];
  extraVars?: Record<string, unknown>;
  timeoutMs?: number;
}

export interface HostSummary extends HostCounts {
  host: string;
  /** The host's outcome in one word. */
  result: "ok" | "changed" | "failed" | "unreachable";
  changedTasks: string[];
  failures: { task: string; msg: string }[];
  /** Every task result in order (for --json). */
  tasks: TaskResult[];
}

export interface PlaybookSummary {
  playbook: PlaybookName;
  inventory: string;
  ok: boolean;
  durationMs: number;
  hosts: HostSummary[];
}

const DEFAULT_TIMEOUT_MS = 45 * 60_000;

export async function runPlaybook(o: PlaybookOptions): Promise<PlaybookSummary> {
  const dir = ansibleDir();
  const args = ["-i", o.inventory, join(dir, `${o.playbook}.yml`)];
  if (o.limit && o.limit.length > 0) args.push("--limit", o.limit.join(","));
  if (o.extraVars && Object.keys(o.extraVars).length > 0) args.push("--extra-vars", JSON.stringify(o.extraVars));
  const env: Record<string, string> = {
    ANSIBLE_CONFIG: join(dir, "ansible.cfg"),
    ANSIBLE_RETRY_FILES_ENABLED: "False",
    ANSIBLE_DEPRECATION_WARNINGS: "False",
    ANSIBLE_INVENTORY_UNPARSED_FAILED: "True",
  };
  if (o.verbose) env.ANSIBLE_FORCE_COLOR = o.io.isTty ? "1" : "0";
  else {
    env.ANSIBLE_STDOUT_CALLBACK = "ansible.posix.jsonl";
    env.ANSIBLE_NOCOLOR = "1";
  }

  const progress = new PlaybookProgress();
  const reporter = o.quiet ? null : new ProgressReporter(o.io);
  const stderrTail: string[] = [];
  const started = Date.now();
  let r;
  try {
    r = await run("ansible-playbook", args, {
      timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      cwd: dir,
      env,
      onStdoutLine: (line) => {
        const ev = progress.feed(line);
        if (o.verbose && !o.quiet) o.io.out(line + "\n");
        else if (ev && reporter) reporter.show(ev);
      },
      onStderrLine: (line) => {
        stderrTail.push(line);
        if (stderrTail.length > 40) stderrTail.shift();
        if (o.verbose && !o.quiet) o.io.err(line + "\n");
      },
    });
  } catch (e) {
    throw ansibleMissingOr(e);
  }
  reporter?.finish();
  const summary = summarize(o, progress, Date.now() - started);
  if (r.timedOut) {
    throw new FleetError("TIMEOUT", `ansible-playbook ${o.playbook}.yml did not finish within ${Math.round((o.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 60_000)} min`, {
      suggestion: "run it again with --verbose to see where it hangs",
      detail: { summary },
    });
  }
  const unreachable = summary.hosts.filter((h) => h.result === "unreachable");
  if (unreachable.length > 0) {
    throw new FleetError(
      "HOST_UNREACHABLE",
      `${unreachable.length === 1 ? "host" : "hosts"} unreachable over SSH:\n` +
        unreachable.map((h) => `  ${h.host}: ${h.failures[0]?.msg.split("\n")[0] ?? "unreachable"}`).join("\n"),
      {
        suggestion: `check each is on and on the network (ssh <ansible_user>@<ansible_host>), then fix ansible_host / ansible_user / the SSH key in ${o.inventory}; --limit the others to go on without it`,
        detail: { summary },
      },
    );
  }
  const failed = summary.hosts.filter((h) => h.result === "failed");
  if (failed.length > 0) {
    throw new FleetError(
      "PLAYBOOK_FAILED",
      `${o.playbook} failed on ${failed.map((h) => h.host).join(", ")}:\n` +
        failed.map((h) => h.failures.map((f) => `  ${h.host}: ${f.task}: ${f.msg.split("\n")[0]}`).join("\n")).join("\n"),
      { suggestion: "fix what the task says and run it again (--verbose shows Ansible's full output)", detail: { summary } },
    );
  }
  if (r.exitCode !== 0 || !progress.recapSeen) {
    throw new FleetError("PLAYBOOK_FAILED", `ansible-playbook ${o.playbook}.yml exited with ${r.exitCode}: ${lastMeaningful(stderrTail)}`, {
      suggestion: "run it again with --verbose to see Ansible's full output",
      detail: { summary },
    });
  }
  return summary;
}

function lastMeaningful(lines: string[]): string {
  const err = lines.filter((l) => /ERROR|error|fatal/.test(l));
  return (err.length ? err : lines).slice(-5).join("\n").trim() || "no message";
}

function summarize(o: PlaybookOptions, p: PlaybookProgress, durationMs: number): PlaybookSummary {
  const hosts: HostSummary[] = [...p.hosts.values()].map((h) => {
    const failures = h.tasks
      .filter((t) => t.status === "failed" || t.status === "unreachable")
      .map((t) => ({ task: t.task, msg: t.msg ?? "" }));
    const c = h.counts;
    const result: HostSummary["result"] =
      c.unreachable > 0 ? "unreachable" : c.failed > 0 ? "failed" : c.changed > 0 ? "changed" : "ok";
    return {
      host: h.host,
      ...c,
      result,
      changedTasks: [...new Set(h.tasks.filter((t) => t.status === "changed").map((t) => t.task))],
      failures,
      tasks: h.tasks,
    };
  });
  hosts.sort((a, b) => a.host.localeCompare(b.host));
  return { playbook: o.playbook, inventory: o.inventory, ok: hosts.every((h) => h.result === "ok" || h.result === "changed"), durationMs, hosts };
}

const MARK: Record<TaskResult["status"], string> = { ok: "ok", changed: "changed", failed: "FAILED", skipped: "skipped", unreachable: "UNREACHABLE" };

/** Per-host progress: what changed or failed on which host, one line each as it happens (unchanged
 * tasks stay quiet). On a terminal, below those, a live block: the task in progress and one line per
 * host with its counts so far, redrawn in place. */
class ProgressReporter {
  private readonly hosts = new Map<string, { ok: number; changed: number; failed: number; skipped: number; unreachable: number }>();
  private task = "";
  private blockLines = 0;
  private readonly hostWidth = 12;
  constructor(private readonly io: Io) {}

  show(ev: ProgressEvent): void {
    if (ev.kind === "play") this.line(`▶ ${ev.name}`);
    else if (ev.kind === "task") this.task = ev.name;
    else if (ev.kind === "result") {
      const h = this.hosts.get(ev.host) ?? { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0 };
      h[ev.result.status]++;
      this.hosts.set(ev.host, h);
      if (ev.result.status !== "ok" && ev.result.status !== "skipped") {
        const msg = ev.result.msg ? `: ${ev.result.msg.split("\n")[0]}` : "";
        this.line(`  ${ev.host.padEnd(this.hostWidth)} ${MARK[ev.result.status].padEnd(11)} ${ev.result.task}${msg}`);
        return;
      }
    }
    this.redraw();
  }

  finish(): void {
    this.erase();
  }

  private erase(): void {
    if (this.blockLines > 0) this.io.out(`\x1b[${this.blockLines}F\x1b[J`);
    this.blockLines = 0;
  }

  private redraw(): void {
    if (!this.io.isTty || (this.task === "" && this.hosts.size === 0)) return;
    this.erase();
    const width = (process.stdout.columns || 100) - 1;
    const lines = [`  … ${this.task}`];
    for (const [host, c] of this.hosts) {
      const bad = c.failed + c.unreachable > 0 ? `  ${c.failed + c.unreachable} failed` : "";
      lines.push(`    ${host.padEnd(this.hostWidth)} ${c.ok + c.changed} ok, ${c.changed} changed${bad}`);
    }
    this.io.out(lines.map((l) => l.slice(0, width)).join("\n") + "\n");
    this.blockLines = lines.length;
  }

  private line(s: string): void {
    this.erase();
    this.io.out(s + "\n");
    this.redraw();
  }
}

/** The per-host summary printed at the end, for people. */
export function formatSummary(s: PlaybookSummary): string {
  const rows = s.hosts.map((h) => [h.host, h.result, String(h.ok), String(h.changed), String(h.failed), String(h.unreachable), String(h.skipped)]);
  let out = "\n" + table(["HOST", "RESULT", "OK", "CHANGED", "FAILED", "UNREACHABLE", "SKIPPED"], rows);
  const changed = s.hosts.reduce((n, h) => n + h.changed, 0);
  out += `\n${s.playbook}: ${s.hosts.length} host(s), ${changed === 0 ? "nothing changed" : `${changed} change(s)`}, ${(s.durationMs / 1000).toFixed(1)} s\n`;
  return out;
}
