// Turns ansible-playbook's output into what happened on each host, one event at a time. The
// input is the line-per-event JSON of the ansible.posix.jsonl stdout callback; the PLAY RECAP of
// the default callback (what `--verbose` shows raw) is understood too, for the summary.

export type TaskStatus = "ok" | "changed" | "failed" | "skipped" | "unreachable";

export interface TaskResult {
  task: string;
  status: TaskStatus;
  /** Why it failed or was unreachable, as Ansible says it. */
  msg?: string;
  /** What a command task printed (stdout, then stderr), e.g. the node's log. */
  output?: string;
}

export interface HostCounts {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  ignored: number;
  rescued: number;
}

export interface HostProgress {
  host: string;
  tasks: TaskResult[];
  /** Ansible's own totals from the recap, once the run ended; else counted from the events. */
  counts: HostCounts;
}

export type ProgressEvent =
  | { kind: "play"; name: string }
  | { kind: "task"; name: string }
  | { kind: "result"; host: string; result: TaskResult }
  | { kind: "recap" };

const RESULT_EVENTS: Record<string, TaskStatus> = {
  v2_runner_on_ok: "ok",
  v2_runner_on_failed: "failed",
  v2_runner_on_skipped: "skipped",
  v2_runner_on_unreachable: "unreachable",
};

const RECAP_RE =
  /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)(?:\s+skipped=(\d+))?(?:\s+rescued=(\d+))?(?:\s+ignored=(\d+))?/;

function zero(): HostCounts {
  return { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, ignored: 0, rescued: 0 };
}

export class PlaybookProgress {
  readonly hosts = new Map<string, HostProgress>();
  plays: string[] = [];
  /** True once Ansible's totals arrived (the run got to its end). */
  recapSeen = false;

  /** Reads one line of output; returns what it meant, or null for lines that are not events. */
  feed(line: string): ProgressEvent | null {
    const t = line.trim();
    if (t.startsWith("{")) {
      let ev: Record<string, unknown>;
      try {
        ev = JSON.parse(t) as Record<string, unknown>;
      } catch {
        return null;
      }
      return this.feedJson(ev);
    }
    const m = RECAP_RE.exec(t);
    if (m) {
      const h = this.host(m[1]!);
      h.counts = {
        ok: +m[2]!, changed: +m[3]!, unreachable: +m[4]!, failed: +m[5]!,
        skipped: +(m[6] ?? 0), rescued: +(m[7] ?? 0), ignored: +(m[8] ?? 0),
      };
      this.recapSeen = true;
      return { kind: "recap" };
    }
    return null;
  }

  private feedJson(ev: Record<string, unknown>): ProgressEvent | null {
    const name = ev._event;
    if (name === "v2_playbook_on_play_start") {
      const play = String((ev.play as { name?: unknown } | undefined)?.name ?? "");
      this.plays.push(play);
      return { kind: "play", name: play };
    }
    if (name === "v2_playbook_on_task_start" || name === "v2_playbook_on_handler_task_start" || name === "v2_runner_on_start") {
      return { kind: "task", name: taskName(ev) };
    }
    if (typeof name === "string" && name in RESULT_EVENTS) {
      const hosts = (ev.hosts ?? {}) as Record<string, Record<string, unknown>>;
      const [host, res] = Object.entries(hosts)[0] ?? [];
      if (!host || !res) return null;
      let status = RESULT_EVENTS[name]!;
      if (status === "ok" && res.changed === true) status = "changed";
      const result: TaskResult = { task: taskName(ev), status };
      if (status === "failed" || status === "unreachable") result.msg = resultMessage(res);
      if (typeof res.stdout === "string" && status !== "failed") {
        result.output = [res.stdout, typeof res.stderr === "string" ? res.stderr : ""].filter((x) => x).join("\n");
      }
      const h = this.host(host);
      h.tasks.push(result);
      if (!this.recapSeen) {
        if (status === "failed" && res.ignore_errors === true) h.counts.ignored++;
        else h.counts[status === "changed" ? "changed" : status]++;
        if (status === "changed") h.counts.ok++; // Ansible counts a change as ok too
      }
      return { kind: "result", host, result };
    }
    if (name === "v2_playbook_on_stats") {
      const stats = (ev.stats ?? {}) as Record<string, Record<string, number>>;
      for (const [host, s] of Object.entries(stats)) {
        this.host(host).counts = {
          ok: s.ok ?? 0, changed: s.changed ?? 0, failed: s.failures ?? 0, skipped: s.skipped ?? 0,
          unreachable: s.unreachable ?? 0, ignored: s.ignored ?? 0, rescued: s.rescued ?? 0,
        };
      }
      this.recapSeen = true;
      return { kind: "recap" };
    }
    return null;
  }

  private host(name: string): HostProgress {
    let h = this.hosts.get(name);
    if (!h) {
      h = { host: name, tasks: [], counts: zero() };
      this.hosts.set(name, h);
    }
    return h;
  }
}

function taskName(ev: Record<string, unknown>): string {
  return String((ev.task as { name?: unknown } | undefined)?.name ?? "");
}

/** The most useful line of a failed result: msg, else stderr, else the first failed loop item's. */
function resultMessage(res: Record<string, unknown>): string {
  const pick = (r: Record<string, unknown>): string | undefined => {
    // A command's "non-zero return code" says less than what it printed.
    const order = typeof r.msg === "string" && /non-zero return code/.test(r.msg) ? ["stderr", "stdout", "msg"] : ["msg", "stderr", "module_stderr", "stdout"];
    for (const k of order) {
      const v = r[k];
      if (typeof v === "string" && v.trim()) return v.trim();
    }
    return undefined;
  };
  let m = pick(res);
  if ((!m || m === "One or more items failed") && Array.isArray(res.results)) {
    const bad = (res.results as Record<string, unknown>[]).find((r) => r.failed === true);
    if (bad) m = pick(bad) ?? m;
  }
  return (m ?? "failed without a message").split("\n").slice(0, 6).join("\n").slice(0, 800);
}
