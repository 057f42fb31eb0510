// Top functions by self time in a V8 .cpuprofile (`node --cpu-prof`), counting only the samples
// taken inside given windows: a child's profile also holds its start-up and idle waits between
// transfers, which say nothing about what a datagram costs. Sample timestamps are CLOCK_MONOTONIC µs,
// the clock process.hrtime reads, so the windows are the roles' own hrtime marks.

import { readFileSync } from "node:fs";
import { basename } from "node:path";

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

/** The project's own code (not the bench's harness around it). */
const isOurs = (url: string): boolean => url.includes("/dist/") && !url.includes("/dist/bench/");

export interface SelfTime { name: string; ms: number; share: number; via: string }
export interface ProfileSummary { top: SelfTime[]; windowMs: number; sampledMs: number; idleMs: number }

/** `windows`: [start, end] in µs of the monotonic clock. */
export function summarise(file: string, windows: Array<[number, number]>, top = 10): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (f: ProfileNode["callFrame"]): string => `${f.functionName || "(anonymous)"}${f.url ? ` ${basename(f.url)}:${f.lineNumber + 1}` : ""}`;
  // A node internal (doSend, _copyActual) says little alone: name the nearest caller of our own code.
  const ours = (id: number): string => {
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const f = byId.get(up)!.callFrame;
      if (isOurs(f.url)) return label(f);
    }
    return "";
  };
  const self = new Map<string, number>();
  const vias = new Map<string, Map<string, number>>();
  let t = p.startTime, sampled = 0, idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // A sample's delta is the time since the one before: that time is charged to this sample's frame.
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (!windows.some(([a, b]) => t >= a && t <= b)) continue;
    const f = byId.get(p.samples[i]!)!.callFrame;
    if (f.functionName === "(idle)") { idle += dt; continue; }
    const name = label(f);
    self.set(name, (self.get(name) ?? 0) + dt);
    const v = isOurs(f.url) ? "" : ours(p.samples[i]!);
    let vm = vias.get(name);
    if (!vm) vias.set(name, (vm = new Map()));
    vm.set(v, (vm.get(v) ?? 0) + dt);
    sampled += dt;
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: sampled > 0 ? us / sampled : 0,
      via: [...vias.get(name)!].sort((a, b) => b[1] - a[1])[0]![0] }));
  return { top: rows, windowMs: windows.reduce((n, [a, b]) => n + (b - a), 0) / 1000, sampledMs: sampled / 1000, idleMs: idle / 1000 };
}
