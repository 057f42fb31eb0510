// fleetctl's examples as written for people (the README, each --help) turned into argument
// arrays, and a dry run that takes one through commander and its command's option schema without
// running it: the check for examples that need Docker or Pis this machine does not have.

import { memoryIo } from "../../../fleetctl/src/io.js";
import { allCommands, buildProgram, commandPath } from "../../../fleetctl/src/main.js";
import { actionInput, optionsSchema, parseOptions } from "../../../fleetctl/src/commands/options.js";

/** A command line split as sh would split this simple kind: spaces, and "double" or 'single' quotes. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

/** Every fleetctl command line in a Markdown text: in code blocks and `inline code`, after an
 * optional `npx`, one per `&&`, comments dropped. */
export function markdownCommandLines(markdown: string, program = "fleetctl"): string[] {
  const snippets: string[] = [];
  let inBlock = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) inBlock = !inBlock;
    else if (inBlock) snippets.push(line.replace(/\s#.*$/, ""));
    else for (const m of line.matchAll(/`([^`]+)`/g)) snippets.push(m[1]!);
  }
  return snippets
    .flatMap((s) => s.split("&&"))
    .map((s) => s.trim().replace(/^npx /, ""))
    .filter((s) => s === program || s.startsWith(program + " "));
}

/** The `$ fleetctl ...` lines of a help text's Examples block. */
export function helpExampleLines(help: string): string[] {
  return [...help.matchAll(/^ {2}\$ (fleetctl.*)$/gm)].map((m) => m[1]!.trim());
}

/** Parses `argv` (without "fleetctl") as the CLI would and reads its options through the command's
 * schema, running nothing. Rejects as the CLI would: CommanderError for an unknown command or
 * flag, a usage FleetError for a value the schema refuses. */
export async function dryRun(argv: string[]): Promise<{ command: string; options: unknown }> {
  const program = buildProgram(memoryIo());
  let seen: { command: string; options: unknown } | undefined;
  for (const c of allCommands(program)) {
    const schema = optionsSchema(c);
    if (schema) {
      c.action((...args: unknown[]) => {
        const { self, raw } = actionInput(args);
        seen = { command: commandPath(self), options: parseOptions(self, schema, raw) };
      });
    }
  }
  await program.parseAsync(argv, { from: "user" });
  if (!seen) throw new Error(`fleetctl ${argv.join(" ")} reached no command`);
  return seen;
}
