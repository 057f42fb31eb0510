// The bearer token that guards the HTTP API beyond loopback: read once at start from a file only
// its owner (and group) may read, compared in constant time.

import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";

/** Shortest token accepted: Ansible's is 43 characters; a short one is guessable over the LAN. */
export const MIN_TOKEN_CHARS = 16;

/**
 * The token in `file`, trimmed of surrounding whitespace (editors add a newline). Throws, saying
 * why, when the file is missing, empty, too short, or readable by every user of the machine: a
 * token others can read guards nothing, so that is refused rather than warned about.
 */
export function readApiToken(file: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (e) {
    throw new Error(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (mode & 0o004) throw new Error(`${file} is readable by every user (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  const token = readFileSync(file, "utf8").trim();
  if (token === "") throw new Error(`${file} is empty; put a random token in it (openssl rand -base64 32)`);
  if (token.length < MIN_TOKEN_CHARS) throw new Error(`${file} holds ${token.length} characters; a token needs at least ${MIN_TOKEN_CHARS}`);
  if (/\s/.test(token)) throw new Error(`${file} holds whitespace inside the token; one line, one token`);
  return token;
}

/**
 * Whether an `Authorization` header carries `token`. Both sides are hashed first so the comparison
 * takes the same time whatever the length or content of the guess (timingSafeEqual needs equal lengths).
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? "");
  return tokenMatches(m?.[1], token) && m !== null;
}

/** Whether `given` (the page's cookie, a `?token=` link) is `token`, compared as bearerMatches does. */
export function tokenMatches(given: string | undefined, token: string): boolean {
  const g = createHash("sha256").update(given ?? "").digest();
  const want = createHash("sha256").update(token).digest();
  return timingSafeEqual(g, want) && given !== undefined && given !== "";
}

/** Whether a peer address is this machine's loopback (127.0.0.0/8, ::1, or IPv4-mapped 127.x). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return a === "::1" || (isIP(a) === 4 && a.startsWith("127."));
}
