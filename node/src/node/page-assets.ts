// The classroom page's files (node/src/node/page/, copied beside this module by scripts/build.mjs)
// and its chart library (uPlot, from node_modules), read once at start and held in memory with a
// gzip copy: a Pi serves each in one write, and nothing is fetched from the internet, ever.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

export interface PageAsset {
  body: Buffer;
  /** The same bytes gzipped, for browsers that say they take it (all do). */
  gzip: Buffer;
  type: string;
  /** A strong validator: a reload costs a 304, not the bytes again. */
  etag: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** Where the build puts the page's files: beside this module in dist/. */
export const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "page");

/**
 * The page's files by URL path: `/` is index.html, the rest are under `/page/`. Throws, saying what
 * to do, when the page folder or uPlot is missing (a broken install or a build that skipped the copy).
 */
export function loadPageAssets(dir = PAGE_DIR): Map<string, PageAsset> {
  const out = new Map<string, PageAsset>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`the page's files are missing from ${dir} (${(e as NodeJS.ErrnoException).code}); run npm run build`);
  }
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type) out.set(name === "index.html" ? "/" : `/page/${name}`, asset(readFileSync(join(dir, name)), type));
  }
  if (!out.has("/")) throw new Error(`${dir} has no index.html; run npm run build`);
  // The minified IIFE build (51 kB, 22 kB gzipped) rather than the 145 kB ES module: a Pi on Wi-Fi
  // sends it to every student who opens the page.
  let uplotDir: string;
  try {
    uplotDir = dirname(createRequire(import.meta.url).resolve("uplot"));
  } catch {
    throw new Error("the page's chart library uplot is not installed (node_modules/uplot); run npm ci");
  }
  out.set("/page/uplot.min.js", asset(readFileSync(join(uplotDir, "uPlot.iife.min.js")), TYPES[".js"]!));
  out.set("/page/uplot.min.css", asset(readFileSync(join(uplotDir, "uPlot.min.css")), TYPES[".css"]!));
  return out;
}

function asset(body: Buffer, type: string): PageAsset {
  return { body, gzip: gzipSync(body, { level: 9 }), type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` };
}
