// Debian's chromium, headless, through puppeteer-core (which never downloads a browser): a page whose
// console errors, uncaught exceptions and failed requests are collected, for the page's browser
// test and bench:page.

import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

export const CHROMIUM = process.env.FLEET_CHROMIUM ?? "/usr/bin/chromium";

export interface WatchedPage {
  page: Page;
  /** Console errors, page exceptions and failed or 4xx/5xx requests, in order. */
  problems: string[];
}

export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI and containers has no user namespace sandbox; the page under test is our own.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"],
  });
}

export async function watchedPage(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<WatchedPage> {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const problems: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`exception: ${(e as Error).message ?? String(e)}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return { page, problems };
}

/** A folder for screenshots that outlives the test (under the OS temp dir), its path printed by the caller. */
export function artefactDir(name: string): string {
  const dir = join(tmpdir(), "deltafleet-artefacts", `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Waits until the text of `selector` matches `re`; on timeout, says what it waited for and what the
 * element said. The check runs in the page as a string: the tests compile without the DOM's types.
 */
export async function waitText(page: Page, selector: string, re: RegExp, timeoutMs: number): Promise<void> {
  try {
    await page.waitForFunction(`${re}.test(document.querySelector(${JSON.stringify(selector)})?.textContent ?? "")`, { timeout: timeoutMs, polling: 100 });
  } catch (e) {
    const now = await inPage<string>(page, `document.querySelector(${JSON.stringify(selector)})?.textContent ?? "(no element)"`).catch(() => "?");
    throw new Error(`${selector} did not match ${re} within ${timeoutMs} ms (${(e as Error).message}); it says: ${now.trim().slice(0, 400)}`);
  }
}

/** An expression evaluated in the page. */
export function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}
