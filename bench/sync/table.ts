// The bench's one output format: a fixed-width table for people, the same rows as JSON for tools.

export interface Row {
  system: string;
  n: number;
  lossPct: number;
  ok: number;
  runs: number;
  /** Median over the successful runs. */
  ms: number;
  txBytes: number;
  /** ms / wire-time limit (payload bytes at the link rate). */
  timeRatio: number;
  /** txBytes / payload bytes. */
  bytesRatio: number;
  /** ours ms / uftp ms at the same n and loss (NaN for uftp itself). */
  vsUftp: number;
  note: string;
}

const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : "-");

export function formatTable(rows: Row[], header: string): string {
  const cols = ["system", "N", "loss", "ok", "ms", "×wire", "tx KB", "×payload", "×uftp", "note"];
  const body = rows.map((r) => [r.system, String(r.n), `${r.lossPct}%`, `${r.ok}/${r.runs}`, f(r.ms, 1),
    f(r.timeRatio, 2), f(r.txBytes / 1000, 1), f(r.bytesRatio, 2), f(r.vsUftp, 2), r.note]);
  const widths = cols.map((c, i) => Math.max(c.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [header, line(cols), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Per system and loss: sender bytes at the largest N over the smallest N (1.00 = no growth). */
export function formatGrowth(rows: Row[]): string {
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  if (ns.length < 2) return "";
  const lo = ns[0]!, hi = ns[ns.length - 1]!;
  const out: string[] = [];
  for (const sys of [...new Set(rows.map((r) => r.system))]) {
    const cells = [...new Set(rows.map((r) => r.lossPct))].map((loss) => {
      const a = rows.find((r) => r.system === sys && r.n === lo && r.lossPct === loss);
      const b = rows.find((r) => r.system === sys && r.n === hi && r.lossPct === loss);
      return `${loss}%: ${a && b ? f(b.txBytes / a.txBytes, 2) : "-"}`;
    });
    out.push(`sender bytes N=${hi} / N=${lo}  ${sys.padEnd(6)}  ${cells.join("  ")}`);
  }
  return out.join("\n");
}
