// How the node serves its classroom page: the files from memory (gzipped when asked, a reload a
// 304), under the API's token rules. From the LAN the page needs the token: `/?token=…` trades it
// for an HttpOnly SameSite=Strict cookie and redirects to `/`; the cookie then opens the page and
// the API's reads, and a POST with it must also carry the page's header.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { createHttpApi, listen, PAGE_COOKIE, PAGE_HEADER, type HttpApiOptions, type HttpRefusal } from "./http-api.js";
import { createLogger } from "./logger.js";
import { loadPageAssets } from "./page-assets.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { stubBackend } from "../../../test/support/api-backend.js";

const logger = createLogger({ nodeId: "t", level: "silent", format: "json" }).logger;
const TOKEN = "k3Xq9vT2mZ8pL4rW7yB1nC6dF0gH5jA";
const scratch = tempDirs("fleet-page-http-");
const lanAddress = Object.values(networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal)?.address;
const noLan = lanAddress ? false : "needs a non-loopback IPv4 address on this machine";

const LESSON = { question: "What is 2+2", answer: "4", author: "Pi-1", seq: 1, at: 1 };
const backend = () => stubBackend({ lessons: () => [LESSON], recall: async () => [{ ...LESSON, recall: { answer: "4", recalled: true } }] });

async function serve(t: { after: (f: () => void) => void }, o: Partial<HttpApiOptions> = {}): Promise<{ port: number; b: ReturnType<typeof backend>; refused: HttpRefusal[] }> {
  const b = backend();
  const refused: HttpRefusal[] = [];
  const server = createHttpApi({ backend: b, logger, page: loadPageAssets(), ...o, onRefused: (why) => refused.push(why) });
  const a = await listen(server, "0.0.0.0", 0);
  t.after(() => { server.closeAllConnections(); server.close(); });
  return { port: a.port, b, refused };
}

test("on loopback the page, its modules and uPlot are served from memory: gzipped when asked, a reload costs a 304", async (t) => {
  const { port } = await serve(t);
  const u = `http://127.0.0.1:${port}`;
  const html = await fetch(`${u}/`);
  assert.equal(html.status, 200);
  assert.match(html.headers.get("content-type")!, /^text\/html/);
  const text = await html.text();
  for (const ref of text.matchAll(/(?:src|href)="(\/page\/[^"]+)"/g)) {
    const r = await fetch(u + ref[1]);
    assert.equal(r.status, 200, `${ref[1]} named by the page`);
    await r.arrayBuffer();
  }
  assert.match(text, /rel="icon" href="data:,"/, "no favicon request (its 404 would be a console error)");
  const raw = await fetch(`${u}/page/uplot.min.js`, { headers: { "accept-encoding": "gzip" } });
  assert.equal(raw.headers.get("content-encoding"), "gzip");
  await raw.arrayBuffer();
  const etag = raw.headers.get("etag")!;
  assert.ok(etag);
  assert.equal((await fetch(`${u}/page/uplot.min.js`, { headers: { "if-none-match": etag } })).status, 304);
  assert.equal((await fetch(`${u}/page/nothing.js`)).status, 404);
  assert.equal((await fetch(`${u}/`, { method: "POST", body: "{}" })).status, 405);
  const routes = await (await fetch(`${u}/page/routes.json`)).json() as { routes: string[] };
  assert.ok(routes.routes.includes("/status") && routes.routes.includes("/train") && !routes.routes.includes("/"), routes.routes.join(","));
});

test("the gzip copy is the same bytes, smaller", () => {
  const assets = loadPageAssets();
  const js = assets.get("/page/uplot.min.js")!;
  assert.deepEqual(gunzipSync(js.gzip), js.body);
  assert.ok(js.gzip.length < js.body.length / 2, `${js.gzip.length} of ${js.body.length}`);
});

test("from the LAN: no page without the token; /?token= sets an HttpOnly SameSite=Strict cookie and moves on to /", { skip: noLan }, async (t) => {
  const { port, b, refused } = await serve(t, { token: TOKEN });
  const u = `http://${lanAddress}:${port}`;
  const plain = await fetch(`${u}/`);
  assert.equal(plain.status, 401);
  assert.match(await plain.text(), /fleetctl dashboard/, "the refusal says how to get in");
  assert.equal((await fetch(`${u}/page/main.js`)).status, 401);
  const wrong = await fetch(`${u}/?token=${TOKEN}x`, { redirect: "manual" });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get("set-cookie"), null);
  await wrong.arrayBuffer();
  const right = await fetch(`${u}/?token=${TOKEN}`, { redirect: "manual" });
  assert.equal(right.status, 200);
  assert.match(await right.text(), /location\.replace\("\/"\)/, "the token leaves the address bar, from a page of the node's own");
  const cookie = right.headers.get("set-cookie")!;
  assert.match(cookie, new RegExp(`^${PAGE_COOKIE}=${TOKEN}; `));
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const jar = { cookie: `${PAGE_COOKIE}=${TOKEN}` };
  assert.equal((await fetch(`${u}/`, { headers: jar })).status, 200);
  assert.equal((await fetch(`${u}/status`, { headers: jar })).status, 200);
  const lessons = await (await fetch(`${u}/lessons?recall=1`, { headers: jar })).json() as { lessons: Array<{ recall: unknown }> };
  assert.deepEqual(lessons.lessons[0]!.recall, { answer: "4", recalled: true });
  assert.equal((await fetch(`${u}/status`, { headers: { cookie: `${PAGE_COOKIE}=${TOKEN}x` } })).status, 401, "a wrong cookie");
  const teach = (headers: Record<string, string>) => fetch(`${u}/teach`, { method: "POST", body: JSON.stringify({ question: "q", answer: "a" }), headers: { "content-type": "application/json", ...headers } });
  assert.equal((await teach(jar)).status, 401, "a POST with the cookie alone could come from another origin of this host");
  assert.deepEqual(b.taught, []);
  assert.equal((await teach({ ...jar, [PAGE_HEADER]: "1" })).status, 200);
  assert.deepEqual(b.taught, ["q"]);
  assert.ok(refused.length >= 4 && refused.every((r) => r === "unauthorized"), refused.join(","));
});

test("a node whose page files are missing still serves the API, and / says what is wrong", async (t) => {
  const { port } = await serve(t, { page: new Error("the page's chart library uplot is not installed (node_modules/uplot); run npm ci") });
  const r = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(r.status, 503);
  assert.match(await r.text(), /uplot is not installed.*npm ci/);
  assert.equal((await fetch(`http://127.0.0.1:${port}/status`)).status, 200);
});

test("loading the page's files fails with what to do when the folder or its index is missing", () => {
  const dir = scratch();
  assert.throws(() => loadPageAssets(join(dir, "nope")), /missing from .*run npm run build/);
  mkdirSync(join(dir, "page"));
  writeFileSync(join(dir, "page", "main.js"), "");
  assert.throws(() => loadPageAssets(join(dir, "page")), /no index.html/);
});
