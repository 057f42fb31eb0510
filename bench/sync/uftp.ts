// UFTP (Debian uftp/uftpd 4.x) as the baseline: multicast, closed group of the n receivers, tuned
// for a LAN as the author measured it (-r 0.01:0.001:15 -R 95000, no encryption).
// Times come from the programs' own microsecond log timestamps: uftp's "Sending ANNOUNCE" to the
// last uftpd's "File transfer complete".

import { createHash } from "node:crypto";
import { readFile, mkdir } from "node:fs/promises";
import { join, basename } from "node:path";
import { JsonProcess, evName, type Event } from "../../test/support/procs.js";
import { failed, type TrialResult, type TrialSpec } from "./trial.js";

export const UFTP_PORT = 1044;
/** UFTP's sending rate, kbit/s (its -R). */
export const UFTP_RATE_KBIT = 95_000;
export const UFTP_ARGS = ["-r", "0.01:0.001:15", "-R", String(UFTP_RATE_KBIT), "-Y", "none"];

/** 10.99.0.7 → 0x0a630007, the id UFTP derives from an IPv4 address. */
export function uftpId(ip: string): string {
  return "0x" + ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join("");
}

const LOG_TS = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}): (.*)$/;

/** Parses "2026/11/23 00:44:59.967893: text" into epoch ms (local time, as uftp writes it). */
export function parseLogLine(line: string): { ms: number; text: string } | null {
  const m = LOG_TS.exec(line);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, us, text] = m;
  const base = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)).getTime();
  return { ms: base + Number(us) / 1000, text: text! };
}

function lineOf(e: Event): string {
  return evName(e) === "non_json" ? String(e.line) : "";
}

function shell(spec: TrialSpec, host: number, cmd: string[]): JsonProcess {
  // uftp and uftpd log to stderr: merge it into stdout so JsonProcess sees the lines.
  const quoted = cmd.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return new JsonProcess(`${cmd[0]}@h${host}`, spec.lan.spawn(host, "sh", ["-c", `exec ${quoted} 2>&1`]));
}

async function waitLine(p: JsonProcess, re: RegExp, timeoutMs: number): Promise<{ ms: number; text: string }> {
  const e = await p.waitFor(`a line matching ${re}`, (ev) => re.test(lineOf(ev)), timeoutMs);
  const parsed = parseLogLine(lineOf(e));
  if (!parsed) throw new Error(`${p.name}: no timestamp on "${lineOf(e)}"`);
  return parsed;
}

export async function runUftp(spec: TrialSpec): Promise<TrialResult> {
  const { lan, n } = spec;
  const receivers: JsonProcess[] = [];
  let sender: JsonProcess | undefined;
  try {
    for (let i = 1; i <= n; i++) {
      const dest = join(spec.dir, `uftp-r${i}`);
      await mkdir(dest, { recursive: true });
      receivers.push(shell(spec, i, ["uftpd", "-d", "-I", "eth0", "-p", String(UFTP_PORT), "-D", dest,
        "-U", uftpId(lan.host(i).ip), "-x", "2"]));
    }
    await Promise.all(receivers.map((r) => waitLine(r, /Loaded .* key|UFTP version/, 10_000)));
    await new Promise((r) => setTimeout(r, 300));   // its sockets are open shortly after the banner
    const before = await lan.counters(0);
    const ids = receivers.map((_, k) => uftpId(lan.host(k + 1).ip)).join(",");
    sender = shell(spec, 0, ["uftp", "-T", "-I", "eth0", "-p", String(UFTP_PORT), "-U", uftpId(lan.host(0).ip),
      "-H", ids, ...UFTP_ARGS, "-x", "2", spec.file]);
    const announce = await waitLine(sender, /Sending ANNOUNCE/, 10_000);
    const done = await Promise.all(receivers.map((r) => waitLine(r, /File transfer complete/, spec.timeoutMs)));
    const code = await new Promise<number | null>((resolve) => {
      if (!sender!.running) return resolve(sender!.child.exitCode);
      sender!.child.once("exit", resolve);
    });
    const after = await lan.counters(0);
    for (let i = 1; i <= n; i++) {
      const got = await readFile(join(spec.dir, `uftp-r${i}`, basename(spec.file)));
      if (createHash("sha256").update(got).digest("hex") !== spec.sha256) return failed(`uftp r${i}: bytes differ`);
    }
    const last = Math.max(...done.map((d) => d.ms));
    return { ok: code === 0, ms: last - announce.ms, txBytes: after.txBytes - before.txBytes, note: code === 0 ? "" : `uftp exit ${code}` };
  } catch (e) {
    return failed((e as Error).message.split("\n")[0]!);
  } finally {
    await Promise.all([sender, ...receivers].map((p) => p?.stop(1000)));
  }
}
