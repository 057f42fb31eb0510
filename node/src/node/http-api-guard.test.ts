// Hostile HTTP clients cost the node bounded work: beyond loopback only the fleet's token changes
// or asks the model, a trickled body or a silent connection is cut after the stated timeout, and
// connections beyond the cap are closed while the node keeps serving.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { connect, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { bearerMatches, isLoopback, readApiToken } from "./api-token.js";
import { createHttpApi, listen, type ApiBackend, type HttpLimits, type HttpRefusal } from "./http-api.js";
import { createLogger } from "./logger.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { stubBackend } from "../../../test/support/api-backend.js";

const logger = createLogger({ nodeId: "t", level: "silent", format: "json" }).logger;
const TOKEN = "k3Xq9vT2mZ8pL4rW7yB1nC6dF0gH5jA";
const scratch = tempDirs("fleet-http-guard-");

const backend = () => stubBackend();

async function serve(t: { after: (f: () => void) => void }, b: ApiBackend, o: { token?: string; limits?: Partial<HttpLimits> } = {}): Promise<{ server: Server; port: number; refused: HttpRefusal[] }> {
  const refused: HttpRefusal[] = [];
  const server = createHttpApi({ backend: b, logger, ...o, onRefused: (why) => refused.push(why) });
  const a = await listen(server, "0.0.0.0", 0);
  t.after(() => { server.closeAllConnections(); server.close(); });
  return { server, port: a.port, refused };
}

/** This machine's first non-loopback IPv4 address: calling it makes the server see a LAN peer. */
const lanAddress = Object.values(networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal)?.address;
const noLan = lanAddress ? false : "needs a non-loopback IPv4 address on this machine";

async function status(url: string, init?: RequestInit): Promise<number> {
  const r = await fetch(url, init);
  await r.arrayBuffer();
  return r.status;
}
const teachInit = (auth?: string): RequestInit => ({
  method: "POST", body: JSON.stringify({ question: "q", answer: "a" }),
  headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
});

test("from the LAN, teach, ask and status need the bearer token; health, ready and metrics do not", { skip: noLan }, async (t) => {
  const b = backend();
  const { port, refused } = await serve(t, b, { token: TOKEN });
  const u = `http://${lanAddress}:${port}`;
  for (const [path, init] of [["/teach", teachInit()], ["/ask", { method: "POST", body: '{"question":"q"}' }], ["/status", undefined]] as const) {
    assert.equal(await status(`${u}${path}`, init), 401, `${path} without a token`);
  }
  assert.equal(await status(`${u}/teach`, teachInit(`Bearer ${TOKEN}x`)), 401, "a wrong token");
  assert.equal(await status(`${u}/teach`, teachInit(`Basic ${TOKEN}`)), 401, "the token in the wrong scheme");
  assert.deepEqual(b.taught, [], "nothing was taught without the token");
  assert.deepEqual(refused, Array(5).fill("unauthorized"), "every refusal is counted");
  for (const path of ["/health", "/ready", "/metrics"]) assert.equal(await status(`${u}${path}`), 200, path);
  assert.equal(await status(`${u}/teach`, teachInit(`Bearer ${TOKEN}`)), 200);
  assert.equal(await status(`${u}/status`, { headers: { authorization: `bearer ${TOKEN}` } }), 200, "the scheme is case-insensitive");
  assert.deepEqual(b.taught, ["q"]);
});

test("a node without a token answers the model's routes only on loopback", { skip: noLan }, async (t) => {
  const b = backend();
  const { port } = await serve(t, b);
  assert.equal(await status(`http://${lanAddress}:${port}/teach`, teachInit()), 401);
  assert.equal(await status(`http://${lanAddress}:${port}/metrics`), 200);
  assert.equal(await status(`http://127.0.0.1:${port}/teach`, teachInit()), 200, "loopback needs no token");
  assert.deepEqual(b.taught, ["q"]);
});

test("loopback needs no token, even when the node has one", async (t) => {
  const { port } = await serve(t, backend(), { token: TOKEN });
  assert.equal(await status(`http://127.0.0.1:${port}/teach`, teachInit()), 200);
  assert.equal(await status(`http://127.0.0.1:${port}/status`), 200);
});

test("the token is compared whole, by hash, and loopback is told apart from the LAN", () => {
  assert.equal(bearerMatches(`Bearer ${TOKEN}`, TOKEN), true);
  for (const h of [undefined, "", "Bearer", `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN} extra`, `Token ${TOKEN}`, `Bearer  ${TOKEN}x`]) {
    assert.equal(bearerMatches(h, TOKEN), false, String(h));
  }
  for (const a of ["127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1"]) assert.equal(isLoopback(a), true, a);
  for (const a of [undefined, "10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "128.0.0.1", "::"]) assert.equal(isLoopback(a), false, String(a));
});

test("the token file must exist, hold a token, and not be readable by everyone", () => {
  const dir = scratch();
  const file = (name: string, text: string, mode: number): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    chmodSync(f, mode);
    return f;
  };
  assert.equal(readApiToken(file("good", `${TOKEN}\n`, 0o600)), TOKEN);
  assert.equal(readApiToken(file("group", TOKEN, 0o640)), TOKEN);
  assert.throws(() => readApiToken(join(dir, "missing")), /cannot read .*ENOENT/);
  assert.throws(() => readApiToken(file("world", TOKEN, 0o644)), /readable by every user .*644/);
  assert.throws(() => readApiToken(file("empty", "\n", 0o600)), /is empty/);
  assert.throws(() => readApiToken(file("short", "abc", 0o600)), /at least 16/);
});

/** Resolves when the server closes `s`; with what it sent before, if anything. */
function closed(s: Socket): Promise<string> {
  let got = "";
  s.on("data", (d) => { got += d.toString(); });
  return new Promise((resolve) => { s.on("close", () => resolve(got)); s.on("error", () => undefined); });
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

test("a body trickled slower than the request timeout is cut off, and the node keeps serving", { timeout: 5_000 }, async (t) => {
  // Budget: requestTimeoutMs 300 (checked every 75 ms); the trickle would take 40 × 50 ms = 2 s.
  const b = backend();
  const { port, refused } = await serve(t, b, { limits: { requestTimeoutMs: 300, headersTimeoutMs: 300 } });
  const s = await open(port);
  const done = closed(s);
  const body = JSON.stringify({ question: "q".repeat(20), answer: "a" });
  s.write(`POST /teach HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  let sent = 0;
  const trickle = setInterval(() => { if (!s.destroyed && sent < body.length) s.write(body[sent++]!); }, 50);
  t.after(() => clearInterval(trickle));
  const answer = await done;
  clearInterval(trickle);
  assert.ok(sent < body.length, `the server waited for the whole trickled body (${sent} of ${body.length} bytes)`);
  assert.match(answer, /^HTTP\/1\.1 408/, "the client is told its request timed out");
  assert.deepEqual(b.taught, []);
  assert.deepEqual(refused, ["timeout"]);
  assert.equal(await status(`http://127.0.0.1:${port}/health`), 200);
});

test("the request timeout bounds receiving the request, not the answer: a teach slower than it still answers", { timeout: 5_000 }, async (t) => {
  const b = backend();
  const teach = b.teach.bind(b);
  b.teach = async (q, a) => { await new Promise((r) => setTimeout(r, 1_000)); return teach(q, a); };
  const { port, refused } = await serve(t, b, { limits: { requestTimeoutMs: 300, headersTimeoutMs: 300 } });
  assert.equal(await status(`http://127.0.0.1:${port}/teach`, teachInit()), 200);
  assert.deepEqual(refused, []);
});

test("a connection that sends nothing is closed after the headers timeout (budget: 300 ms, the test 5 s)", { timeout: 5_000 }, async (t) => {
  const { server, port, refused } = await serve(t, backend(), { limits: { requestTimeoutMs: 300, headersTimeoutMs: 300 } });
  const s = await open(port);
  assert.match(await closed(s), /^HTTP\/1\.1 408/);
  assert.deepEqual(refused, ["timeout"]);
  assert.equal(await new Promise<number>((r) => server.getConnections((_e, n) => r(n))), 0);
});

test("connections beyond the cap are closed at once; those within it and later ones are served", { timeout: 5_000 }, async (t) => {
  const cap = 8;
  // Idle connections are not cut by timeouts in this test: only the cap bounds them.
  const { server, port, refused } = await serve(t, backend(), { limits: { maxConnections: cap, requestTimeoutMs: 60_000, headersTimeoutMs: 60_000 } });
  const idle: Socket[] = [];
  t.after(() => { for (const s of idle) s.destroy(); });
  for (let i = 0; i < cap; i++) idle.push(await open(port));
  const extra = await Promise.all(Array.from({ length: 20 }, () => open(port)));
  // Every connection over the cap is closed by the server without a word.
  assert.deepEqual(await Promise.all(extra.map(closed)), extra.map(() => ""));
  assert.equal(await new Promise<number>((r) => server.getConnections((_e, n) => r(n))), cap);
  assert.deepEqual(refused, extra.map(() => "over_cap"));
  // One idle client leaves: the node answers again.
  const leaving = idle.pop()!;
  leaving.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await status(`http://127.0.0.1:${port}/health`, { headers: { connection: "close" } }), 200);
});
