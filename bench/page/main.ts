// bench/page — what the classroom page costs a node: the bytes a first load moves (every file and
// the first API calls, as the browser received them), and the node's CPU while one page is open
// and polling, as a ratio against the same node idle, in one run.
//
//   npm run bench:page [-- --seconds 20 --json]
//
// Two real fleet-node processes on loopback (the page shows a peer); Debian's chromium, headless,
// opens the page of the first. CPU is the node's own utime + stime from /proc/<pid>/stat over a
// window of --seconds with no page, then the same with the page open (after its first load), then
// with no page again: the ratio is against the mean of the two idle windows, so a drift of the
// machine (other processes share its cores) shows as a difference between them. Bytes are the DevTools protocol's encodedDataLength: on the wire, headers included.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { artefactDir, CHROMIUM, inPage, launchChromium } from "../../test/support/browser.js";
import { fleetSpecs, NodeProc, until } from "../../test/support/e2e-harness.js";
import { loadPageAssets } from "../../node/src/node/page-assets.js";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux the fleet runs). */
const USER_HZ = 100;

async function cpuSeconds(pid: number): Promise<number> {
  const s = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces), from field 3: utime is 14, stime 15.
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / USER_HZ;
}

async function cpuOver(pid: number, seconds: number): Promise<number> {
  const c0 = await cpuSeconds(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return (await cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
}

interface PageFigures {
  firstLoad: { requests: number; wireBytes: number; ms: number };
  /** The page's files as the node holds them: raw and gzipped. */
  files: { count: number; bytes: number; gzipBytes: number };
  polling: { wireBytesPerS: number; requestsPerS: number };
  cpu: { idleCores: number; idleBeforeCores: number; idleAfterCores: number; pageOpenCores: number; ratio: number; seconds: number };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "20" }, json: { type: "boolean", default: false } } });
  const seconds = Number(values.seconds);
  if (!(seconds >= 2)) throw new Error("bench/page: --seconds must be at least 2");
  const assets = [...loadPageAssets().values()];
  const root = await mkdtemp(join(tmpdir(), "bench-page-"));
  const nodes = (await fleetSpecs(2, root)).map((s) => new NodeProc(s));
  const browser = await launchChromium().catch((e: Error) => { throw new Error(`bench/page: cannot start ${CHROMIUM} (${e.message}); apt-get install chromium`); });
  try {
    await Promise.all(nodes.map((n) => n.ready()));
    const [a] = nodes as [NodeProc];
    await until("the peer heard", async () => (await a.status()).peers.length === 1);
    await a.post("/teach", { question: "What is 2+2", answer: "4" });
    const pid = a.child.pid!;
    // Idle: the node with its peer, no page, once the teach's after-work (the peer's catch-up) is over.
    await new Promise((r) => setTimeout(r, 5000));
    const idleBefore = await cpuOver(pid, seconds);

    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const cdp = await page.createCDPSession();
    await cdp.send("Network.enable");
    const net = { requests: 0, bytes: 0 };
    cdp.on("Network.loadingFinished", (e) => { net.requests++; net.bytes += e.encodedDataLength; });
    const t0 = performance.now();
    await page.goto(a.url + "/", { waitUntil: "domcontentloaded" });
    await until("every section shows data", async () => (await inPage<number>(page, `[...document.querySelectorAll("main > section")].filter((e) => e.dataset.state !== "shown").length`)) === 0, 30_000, 50);
    const firstLoad = { requests: net.requests, wireBytes: net.bytes, ms: Math.round(performance.now() - t0) };
    await page.screenshot({ path: join(artefactDir("bench-page"), "page.png") });

    const before = { ...net };
    const pageOpenCores = await cpuOver(pid, seconds);
    const polls = net.requests - before.requests;
    const pollBytes = net.bytes - before.bytes;
    await page.close();
    const idleAfter = await cpuOver(pid, seconds);
    const idleCores = (idleBefore + idleAfter) / 2;
    const figures: PageFigures = {
      firstLoad,
      files: { count: assets.length, bytes: assets.reduce((s, x) => s + x.body.length, 0), gzipBytes: assets.reduce((s, x) => s + x.gzip.length, 0) },
      polling: { wireBytesPerS: Math.round(pollBytes / seconds), requestsPerS: round2(polls / seconds) },
      cpu: {
        idleCores: round4(idleCores), idleBeforeCores: round4(idleBefore), idleAfterCores: round4(idleAfter), pageOpenCores: round4(pageOpenCores),
        ratio: round2(pageOpenCores / Math.max(idleCores, 1 / USER_HZ / seconds)), seconds,
      },
    };
    if (values.json) console.log(JSON.stringify(figures, null, 2));
    else console.log(format(figures));
  } finally {
    await browser.close();
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await rm(root, { recursive: true, force: true });
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round4 = (x: number): number => Math.round(x * 10000) / 10000;
const pct = (cores: number): string => `${(cores * 100).toFixed(2)} %`;
const kb = (b: number): string => `${(b / 1024).toFixed(1)} kB`;

function format(f: PageFigures): string {
  return [
    "bench/page — the classroom page's cost to the node that serves it",
    `first load      ${kb(f.firstLoad.wireBytes)} on the wire in ${f.firstLoad.requests} requests, every section drawn after ${f.firstLoad.ms} ms`,
    `page files      ${f.files.count} files, ${kb(f.files.bytes)} raw, ${kb(f.files.gzipBytes)} gzipped (uPlot included)`,
    `while open      ${kb(f.polling.wireBytesPerS)}/s in ${f.polling.requestsPerS} requests/s (polling /status and /train)`,
    `node CPU        idle ${pct(f.cpu.idleCores)} of a core (before ${pct(f.cpu.idleBeforeCores)}, after ${pct(f.cpu.idleAfterCores)}), page open ${pct(f.cpu.pageOpenCores)}`,
    `                ratio ${f.cpu.ratio}× idle (${f.cpu.seconds} s windows)`,
  ].join("\n");
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
