// The node's HTTP API (docs/contracts.md): health, readiness, status, log, lessons, ask, teach, train, metrics,
// and the classroom page (`/`, `/page/*`). One bad
// request gets a 4xx JSON error and changes nothing; no request can take the node down. Beyond
// loopback, everything but health, readiness and metrics needs the fleet's bearer token; slow or
// idle clients are cut off and connections are capped, so hostile clients cost bounded work.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { bearerMatches, isLoopback, tokenMatches } from "./api-token.js";
import type { PageAsset } from "./page-assets.js";
import { taughtLesson } from "./taught.js";
import type { RecalledLesson } from "./recall.js";
import type { AskOptions, AskResult } from "./seams.js";
import type { TeachOutcome } from "./runtime.js";
import { TRAIN_BODY_LIMIT_BYTES } from "./train-request.js";

/** Requests bigger than this are refused (413): a question and its answer are a few hundred bytes. */
export const BODY_LIMIT_BYTES = 64 * 1024;
/** Longest question or answer accepted: ~250 tokens, a few seconds of training on a Pi (4,000 characters took 14 s on x86). */
export const TEXT_LIMIT_CHARS = 1000;

/** What the API needs of the node (NodeRuntime implements it). */
export interface ApiBackend {
  readonly ready: boolean;
  status(): Record<string, unknown>;
  /** The fleet log held: base identity, count, set hash and the sorted entry names. */
  log(): { base: string; entries: number; set: string; names: string[] };
  /** The lessons of the teach entries held. */
  lessons(): Array<{ question: string; answer: string; author: string; seq: number; at?: number }>;
  /** The lessons with this node's answer to each now (recall.ts bounds the work); absent: /lessons?recall=1 is refused. */
  recall?(): Promise<RecalledLesson[]>;
  ask(question: string, options?: AskOptions): Promise<AskResult>;
  teach(question: string, answer: string): Promise<TeachOutcome>;
  metricsText(): Promise<string>;
  metricsContentType: string;
  /** POST /train: checks the body (train-request.ts) and starts a job this node coordinates. */
  train(body: Record<string, unknown>): { job: string; state: "running" };
  /** GET /train: the job as this node knows it (train/wire.ts TrainStatus). */
  trainStatus(): unknown;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

/** The generation options /ask takes: all the model's but its stop tokens (token ids are the model's business). */
const ASK_OPTION_TYPES: Record<Exclude<keyof AskOptions, "stopIds">, "number" | "boolean"> = {
  maxNewTokens: "number", doSample: "boolean", temperature: "number", topP: "number",
  repetitionPenalty: "number", noRepeatNgramSize: "number", seed: "number",
};

/** The limits on clients; each is an option so tests can shrink it. */
export interface HttpLimits {
  /** A request's headers must arrive within this (an idle or trickling connection is cut). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (a body trickled byte by byte is cut). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are closed at once: each holds a file descriptor the node needs to save merges. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  // A 64 KiB body at a Wi-Fi Pi's worst takes well under a second: 20 s is only ever a slow client.
  requestTimeoutMs: 20_000,
  keepAliveTimeoutMs: 2_000,
  // Prometheus, fleetctl and a few people; far below the usual 1,024 descriptors per process.
  maxConnections: 64,
};

/** Why a client was turned away, as fleet_http_refused_total counts it. */
export const HTTP_REFUSALS = ["unauthorized", "timeout", "over_cap"] as const;
export type HttpRefusal = typeof HTTP_REFUSALS[number];

/** Routes any client may read: what Prometheus and health checks need, nothing about or from the model. */
export const OPEN_ROUTES: readonly string[] = ["/health", "/ready", "/metrics"];

export interface HttpApiOptions {
  backend: ApiBackend;
  logger: Logger;
  /** The bearer token non-loopback clients need for the other routes; without one, only loopback may use them. */
  token?: string | undefined;
  limits?: Partial<HttpLimits>;
  /** The page's files (page-assets.ts), or why they could not be loaded (then `/` answers 503 saying so). */
  page?: ReadonlyMap<string, PageAsset> | Error;
  /** Told of every client turned away (a metric counts them). */
  onRefused?: (why: HttpRefusal) => void;
}

export function createHttpApi(opts: HttpApiOptions): Server {
  const log = opts.logger.child({ mod: "http" });
  const limits = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
  const refused = (why: HttpRefusal): void => opts.onRefused?.(why);
  const server = createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts above only this often (30 s unless told): a quarter of the shorter.
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
  }, (req, res) => {
    handle(opts, req, res).catch((e: unknown) => {
      const err = e instanceof ApiError ? e : toApiError(e);
      if (err.status === 401) refused("unauthorized");
      if (err.status >= 500) log.error({ ev: "http_error", method: req.method, url: req.url, err: err.message }, "request failed");
      else log.debug({ ev: "http_refused", method: req.method, url: req.url, status: err.status, code: err.code }, "request refused");
      sendJson(res, err.status, { error: err.message, code: err.code });
    });
  });
  server.maxConnections = limits.maxConnections;
  server.on("drop", () => refused("over_cap"));
  // Node's own answer to a broken or timed-out request, with the timeouts counted.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") refused("timeout");
    if (err.code !== "ECONNRESET" && socket.writable && !(socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.write(err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
        : err.code === "HPE_HEADER_OVERFLOW" ? "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"
          : "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    }
    socket.destroy();
  });
  return server;
}

/** Listens on host:port; resolves with the bound address (port 0 picks a free one). */
export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

async function handle(opts: HttpApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://node");
  const path = url.pathname;
  if (path === "/" || path.startsWith("/page/")) return servePage(opts, url, req, res);
  const found = ROUTES[path];
  if (!found) throw new ApiError(404, "NOT_FOUND", `no route ${path}; routes: ${Object.keys(ROUTES).join(", ")}`);
  const routes = Array.isArray(found) ? found : [found];
  const route = routes.find((r) => req.method === r.method || (r.method === "GET" && req.method === "HEAD"));
  if (!route) {
    const methods = routes.map((r) => r.method).join(", ");
    res.setHeader("Allow", methods);
    throw new ApiError(405, "METHOD_NOT_ALLOWED", `${path} takes ${methods.replace(", ", " or ")}, not ${req.method}`);
  }
  authorize(opts.token, path, req, res);
  await route.run(opts.backend, req, res, url);
}

type Route = { method: "GET" | "POST"; run: (b: ApiBackend, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> };

const ROUTES: Record<string, Route | Route[]> = {
  "/health": { method: "GET", run: async (_b, _q, res) => sendJson(res, 200, { ok: true }) },
  "/ready": { method: "GET", run: async (b, _q, res) => sendJson(res, b.ready ? 200 : 503, { ready: b.ready }) },
  "/status": { method: "GET", run: async (b, _q, res) => sendJson(res, 200, b.status()) },
  "/log": { method: "GET", run: async (b, _q, res) => sendJson(res, 200, b.log()) },
  "/lessons": {
    method: "GET",
    run: async (b, _q, res, url) => {
      if (url.searchParams.get("recall") !== "1") return sendJson(res, 200, { lessons: b.lessons() });
      if (!b.recall) throw new ApiError(404, "NOT_FOUND", "this node does not compute recall");
      requireReady(b);
      sendJson(res, 200, { lessons: await b.recall() });
    },
  },
  "/metrics": {
    method: "GET",
    run: async (b, _q, res) => {
      const text = await b.metricsText();
      res.writeHead(200, { "Content-Type": b.metricsContentType });
      res.end(text);
    },
  },
  "/ask": {
    method: "POST",
    run: async (b, req, res) => {
      const body = await readJson(req);
      const question = text(body, "question");
      const options = askOptions(body.options);
      requireReady(b);
      // The label never replaces the answer: it only says the fleet was taught this question (taught.ts).
      sendJson(res, 200, { ...(await b.ask(question, options)), taught: taughtLesson(question, b.lessons()) });
    },
  },
  "/teach": {
    method: "POST",
    run: async (b, req, res) => {
      const body = await readJson(req);
      const question = text(body, "question");
      const answer = text(body, "answer");
      requireReady(b);
      sendJson(res, 200, await b.teach(question, answer));
    },
  },
  "/train": [
    { method: "GET", run: async (b, _q, res) => sendJson(res, 200, b.trainStatus()) },
    {
      method: "POST",
      run: async (b, req, res) => {
        // The data set may ride in the body: a larger limit than the other routes'.
        const body = await readJson(req, TRAIN_BODY_LIMIT_BYTES);
        requireReady(b);
        sendJson(res, 202, b.train(body));
      },
    },
  ],
};

/**
 * The page's cookie: the token itself, set by `/?token=…`. HttpOnly, so no script on the page (or
 * injected into it through a lesson's text) can read it; SameSite=Strict, so another site's page
 * cannot make the browser send it. No Secure flag: nodes speak plain HTTP on the classroom LAN.
 */
export const PAGE_COOKIE = "fleet_token";
/**
 * A POST the cookie authorizes must also carry this header. SameSite treats every port of the
 * node's host as the same site; a custom header makes any other origin's request a CORS preflight,
 * which the node never grants, so only the page itself can teach with the cookie.
 */
export const PAGE_HEADER = "x-fleet-page";

/** Loopback (the prompt's user, `curl localhost`, the container's own checks) and the open routes need no token. */
function authorize(token: string | undefined, path: string, req: IncomingMessage, res: ServerResponse): void {
  if (OPEN_ROUTES.includes(path) || isLoopback(req.socket.remoteAddress)) return;
  if (token !== undefined && bearerMatches(req.headers.authorization, token)) return;
  if (token !== undefined && tokenMatches(pageCookie(req), token) && (req.method !== "POST" || req.headers[PAGE_HEADER] === "1")) return;
  res.setHeader("WWW-Authenticate", 'Bearer realm="fleet-node"');
  res.setHeader("Connection", "close");
  // The body is not read: a client without the token costs no more than its headers.
  req.resume();
  throw new ApiError(401, "UNAUTHORIZED", token === undefined
    ? `${path} answers only on loopback: this node has no --api-token-file`
    : `${path} needs the fleet's token from another machine: Authorization: Bearer <token>`);
}

function pageCookie(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === PAGE_COOKIE) {
      try { return decodeURIComponent(part.slice(eq + 1).trim()); } catch { return undefined; }
    }
  }
  return undefined;
}

/**
 * `/` and `/page/*`: the classroom page, under the API's token rules. A browser beyond loopback
 * cannot send a bearer header when a person opens a link, so `/?token=…` (the link fleetctl
 * dashboard prints) trades the token for the page cookie and moves on to `/`: the token leaves the
 * address bar and the history, and every call the page makes carries the cookie. It moves on from
 * a page of its own, not by an HTTP redirect: a link clicked on another site (a chat, a mail) makes
 * a redirect cross-site too, and the browser would withhold the Strict cookie from `/`.
 */
async function servePage(opts: HttpApiOptions, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET");
    throw new ApiError(405, "METHOD_NOT_ALLOWED", `${url.pathname} takes GET, not ${req.method}`);
  }
  const given = url.searchParams.get("token");
  if (url.pathname === "/" && given !== null) {
    if (opts.token === undefined || !tokenMatches(given, opts.token)) {
      opts.onRefused?.("unauthorized");
      return sendPageText(res, 401, "That link's token is not this fleet's token. Ask your instructor for the link fleetctl dashboard prints.");
    }
    const s = '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/"><link rel="icon" href="data:,"><title>DeltaFleet</title>'
      + '<script>location.replace("/")</script><p><a href="/">Open the classroom page</a></p>';
    res.writeHead(200, {
      "Content-Type": "text/html; charset=utf-8", "Content-Length": Buffer.byteLength(s),
      "Set-Cookie": `${PAGE_COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/`,
      "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
    });
    res.end(s);
    return;
  }
  try {
    authorize(opts.token, url.pathname, req, res);
  } catch {
    opts.onRefused?.("unauthorized");
    return sendPageText(res, 401, "This page needs the fleet's token from another machine: open the link `fleetctl dashboard -i INVENTORY --print` prints (it ends in ?token=…).");
  }
  // Which routes this node has, so the page asks only for those: a 404 is an error in the browser's
  // console, and a node without training (or an older one) is not a broken page.
  if (url.pathname === "/page/routes.json") return sendJson(res, 200, { routes: Object.keys(ROUTES) });
  if (opts.page instanceof Error) return sendPageText(res, 503, `This node cannot serve its page: ${opts.page.message}`);
  const asset = opts.page?.get(url.pathname);
  if (!asset) throw new ApiError(404, "NOT_FOUND", `no page file ${url.pathname}`);
  const headers: Record<string, string> = { "Content-Type": asset.type, ETag: asset.etag, "Cache-Control": "no-cache", Vary: "Accept-Encoding" };
  if (req.headers["if-none-match"] === asset.etag) { res.writeHead(304, headers); res.end(); return; }
  const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? asset.gzip : asset.body;
  res.writeHead(200, { ...headers, ...(gzip ? { "Content-Encoding": "gzip" } : {}), "Content-Length": String(body.length) });
  res.end(req.method === "HEAD" ? undefined : body);
}

function sendPageText(res: ServerResponse, status: number, message: string): void {
  // No favicon request (its 404 would be one more error in the console).
  const s = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><link rel="icon" href="data:,"><title>DeltaFleet</title><p>${message.replace(/[<>&]/g, "")}</p>`;
  res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Content-Length": Buffer.byteLength(s), "Cache-Control": "no-store" });
  res.end(s);
}

function requireReady(b: ApiBackend): void {
  if (!b.ready) throw new ApiError(503, "NOT_READY", "the node is still starting (model or socket not ready); poll /ready");
}

async function readJson(req: IncomingMessage, limit = BODY_LIMIT_BYTES): Promise<Record<string, unknown>> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) {
    req.resume();
    throw new ApiError(413, "BODY_TOO_LARGE", `request body of ${declared} bytes is over the ${limit}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) {
      req.resume();
      throw new ApiError(413, "BODY_TOO_LARGE", `request body is over the ${limit}-byte limit`);
    }
    chunks.push(c as Buffer);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (e) {
    throw new ApiError(400, "BAD_JSON", `request body is not JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new ApiError(400, "BAD_REQUEST", 'request body must be a JSON object like {"question": "..."}');
  return v as Record<string, unknown>;
}

function text(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== "string") throw new ApiError(400, "BAD_REQUEST", `"${key}" must be a string, got ${v === undefined ? "nothing" : typeof v}`);
  if (v.trim() === "") throw new ApiError(400, "BAD_REQUEST", `"${key}" is empty`);
  if (v.length > TEXT_LIMIT_CHARS) throw new ApiError(400, "BAD_REQUEST", `"${key}" is ${v.length} characters; the limit is ${TEXT_LIMIT_CHARS}`);
  return v;
}

function askOptions(v: unknown): AskOptions | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw new ApiError(400, "BAD_REQUEST", '"options" must be an object');
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const want = ASK_OPTION_TYPES[k as keyof typeof ASK_OPTION_TYPES];
    if (!want) throw new ApiError(400, "BAD_REQUEST", `unknown option "${k}"; known: ${Object.keys(ASK_OPTION_TYPES).join(", ")}`);
    if (typeof x !== want || (want === "number" && !Number.isFinite(x))) throw new ApiError(400, "BAD_REQUEST", `option "${k}" must be a ${want}`);
    out[k] = x;
  }
  if (typeof out.maxNewTokens === "number" && (!Number.isInteger(out.maxNewTokens) || out.maxNewTokens < 1 || out.maxNewTokens > 256)) {
    throw new ApiError(400, "BAD_REQUEST", 'option "maxNewTokens" must be an integer from 1 to 256');
  }
  return out as AskOptions;
}

function toApiError(e: unknown): ApiError {
  const code = (e as { code?: unknown }).code;
  if (code === "TEACH_IN_PROGRESS") return new ApiError(409, "TEACH_IN_PROGRESS", (e as Error).message);
  if (code === "TRAIN_IN_PROGRESS") return new ApiError(409, "TRAIN_IN_PROGRESS", (e as Error).message);
  if (code === "TRAIN_BAD_REQUEST") return new ApiError(400, "BAD_REQUEST", (e as Error).message);
  // The lesson could not be saved (disk full, out of file descriptors): nothing changed.
  if (code === "STATE_NOT_SAVED") return new ApiError(507, "STATE_NOT_SAVED", (e as Error).message);
  return new ApiError(500, "INTERNAL", (e as Error)?.message ?? String(e));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) { res.end(); return; }
  const s = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(s) });
  res.end(s);
}
