// The README is the first thing a new user runs: every command it shows must exist as shown.
// fleet-node and fleetctl lines are checked against the commands' own --help (subcommand path and
// every flag), npm scripts against package.json, `node dist/...` against the build. What the
// commands then do is pinned down by the tests beside each command (demo, e2e, the Docker fleet).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./support/paths.js";

const root = repoRoot();
const readme = readFileSync(join(root, "README.md"), "utf8");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/** Every command line the README shows: lines of ```sh blocks and `inline code` that start with a command. */
function readmeCommands(): string[] {
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n"));
  const inline = [...readme.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  return [...blocks, ...inline]
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .flatMap((l) => l.split(/\s*&&\s*/))
    .filter((l) => /^(npx |npm |node dist\/|fleetctl |fleet-node )/.test(l));
}

const helpCache = new Map<string, string>();
function help(bin: string, path: string[]): string {
  const key = [bin, ...path].join(" ");
  if (!helpCache.has(key)) {
    helpCache.set(key, execFileSync(join(root, pkg.bin[bin]), [...path, "--help"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } }));
  }
  return helpCache.get(key)!;
}

function subcommands(helpText: string): string[] {
  const section = helpText.split(/\nCommands:\n/)[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!);
}

/** "model info|ask|loss" → the command once per alternative. */
function expand(tokens: string[]): string[][] {
  const i = tokens.findIndex((t) => /^[a-z-]+(\|[a-z-]+)+$/.test(t));
  if (i < 0) return [tokens];
  return tokens[i]!.split("|").flatMap((alt) => expand([...tokens.slice(0, i), alt, ...tokens.slice(i + 1)]));
}

/** Problems with one `fleet-node …` / `fleetctl …` line: an unknown subcommand or flag. */
function checkCliLine(bin: string, args: string[]): string[] {
  const path: string[] = [];
  let text = help(bin, path);
  for (const a of args) {
    if (a.startsWith("-")) break;
    if (!subcommands(text).includes(a)) break;
    path.push(a);
    text = help(bin, path);
  }
  const flags = args.filter((a) => /^--?[a-zA-Z]/.test(a)).map((a) => a.split("=")[0]!);
  return flags.filter((f) => !new RegExp(`(^|[ ,])${f}([ ,=]|$)`, "m").test(text)).map((f) => `${bin} ${path.join(" ")}: no flag ${f}`);
}

test("the README shows the commands a new user needs, and each one exists as shown", () => {
  const lines = readmeCommands();
  assert.ok(lines.includes("npm run demo") && lines.includes("npm test"), "README opens with npm run demo and npm test");
  const problems: string[] = [];
  let cliLines = 0;
  for (const line of lines) {
    const words = line.split(/\s+/);
    if (words[0] === "npm") {
      const script = words[1] === "run" ? words[2]! : words[1]!;
      if (!["ci", "install", "test"].includes(script) && !(script in pkg.scripts)) problems.push(`${line}: no npm script ${script}`);
      if (script === "test" && !("test" in pkg.scripts)) problems.push(`${line}: no test script`);
      // `npm run demo -- FLAGS` hands the flags to fleetctl demo: they must be its own.
      if (script === "demo" && words.includes("--")) problems.push(...checkCliLine("fleetctl", ["demo", ...words.slice(words.indexOf("--") + 1)]));
      continue;
    }
    if (words[0] === "node") {
      if (!existsSync(join(root, words[1]!))) problems.push(`${line}: ${words[1]} is not built`);
      continue;
    }
    const args = words[0] === "npx" ? words.slice(1) : words;
    const bin = args[0]!;
    if (!(bin in pkg.bin)) { problems.push(`${line}: ${bin} is not a bin of this package`); continue; }
    for (const variant of expand(args.slice(1).filter((a) => !/^<.*>$/.test(a)))) {
      problems.push(...checkCliLine(bin, variant));
      cliLines++;
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(cliLines >= 15, `README lines checked against --help: ${cliLines}`);
});

test("a flag the commands do not have is caught (the check above can fail)", () => {
  assert.deepEqual(checkCliLine("fleetctl", ["status", "-i", "x.yml", "--no-such-flag"]), ["fleetctl status: no flag --no-such-flag"]);
  assert.deepEqual(checkCliLine("fleetctl", ["demo", "--lesson", "10"]), ["fleetctl demo: no flag --lesson"]);
  assert.deepEqual(checkCliLine("fleet-node", ["model", "info", "--json"]), []);
});
