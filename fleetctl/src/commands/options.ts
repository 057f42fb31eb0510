// fleetctl's options: commander reads the flags, one zod schema per command turns their strings
// into typed values. Every mistake, on any command, becomes the same usage error (exit 2) naming
// the flag and what was given. The building blocks below are the only rules there are: a --timeout
// means the same on every command because it is the same schema.

import { Option, type Command } from "commander";
import { z } from "zod";
import { usageError } from "../errors.js";
import { PRESET_NAMES, type PresetName } from "../../../node/src/model/default-model.js";

const numeric = (v: unknown): unknown => (typeof v === "string" && v.trim() !== "" ? Number(v) : v);

/** A whole number from `min` to `max`. */
export function wholeNumber(min: number, max = Infinity, says = max === Infinity ? `is not a whole number of at least ${min}` : `is not a whole number from ${min} to ${max}`) {
  return z.preprocess(numeric, z.number({ error: says }).int(says).min(min, says).max(max, says));
}

export const port = wholeNumber(1, 65535, "is not a port (1-65535)");

/** Plain text with something in it. */
export const text = z.string().refine((s) => s.trim() !== "", "must not be empty");

/** A switch: true when given. */
export const flag = z.boolean().default(false);

export const hostPort = z.string().regex(/^[^:\s]+:\d+$/, "is not host:port");

/** A comma-separated list of host names or node ids. */
export const hostList = z
  .string()
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
  .refine((names) => names.length > 0, "names no hosts (e.g. --limit pi-1,pi-2)");

/** A time in seconds, the one unit of every --timeout: "90", "1.5", "90s" or "500ms". A bare
 * number above `max` is refused rather than waited out: it is most likely milliseconds, the unit
 * `status --timeout` took before. */
export function seconds(max: number) {
  return z.union([z.number(), z.string()]).transform((v, ctx): number => {
    const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)?\s*$/.exec(String(v));
    const fail = (message: string): never => (ctx.addIssue({ code: "custom", message }), z.NEVER);
    if (!m) return fail("is not a time in seconds (e.g. 30, 1.5, 500ms)");
    const s = m[2] === "ms" ? Number(m[1]) / 1000 : Number(m[1]);
    if (!(s > 0)) return fail("must be more than 0 seconds");
    if (s > max) {
      return fail(m[2] ? `is more than the ${max} s this allows` : `would be ${s} seconds, more than the ${max} s this allows: the unit is seconds (for milliseconds write ${m[1]}ms)`);
    }
    return s;
  });
}

/** --preset: one of the node's model presets (fleet-node --preset). */
export const preset = z.enum(PRESET_NAMES as [PresetName, ...PresetName[]], { error: `is not a preset: ${PRESET_NAMES.join(", ")}` });

export function presetOption(what: string): Option {
  return new Option("--preset <name>", `${what}: ${PRESET_NAMES.join(" or ")} (fleet-node --preset)`).default("tiny-gpt2");
}

/** The longest any command waits for a fleet (to merge, to start under emulation): an hour. A
 * bare --timeout above it is more likely milliseconds than patience. */
export const LONG_WAIT_MAX_S = 3600;

/** --timeout, declared alike on every command; the help shows the default the command really uses. */
export function timeoutOption(what: string, defaultS: number): Option {
  return new Option("--timeout <seconds>", what).default(defaultS, `${defaultS} s`);
}

/** The options as `schema` reads them, or a usage error naming the first offending flag. */
export function parseOptions<S extends z.ZodType>(cmd: Command, schema: S, raw: Record<string, unknown>): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const key = issue.path[0];
  if (typeof key !== "string") throw usageError(issue.message);
  const opt = cmd.options.find((o) => o.attributeName() === key);
  const isArgument = cmd.registeredArguments.some((a) => a.name() === key);
  const name = opt?.long ?? opt?.short ?? (isArgument ? `<${key}>` : `--${key}`);
  throw usageError(raw[key] === undefined ? `${name}: ${issue.message}` : `${name} ${String(raw[key])}: ${issue.message}`);
}

const schemas = new WeakMap<Command, z.ZodType>();

/** Makes `run` the command's action, given the options as `schema` parses them. */
export function actionWith<S extends z.ZodType>(cmd: Command, schema: S, run: (o: z.output<S>) => Promise<void>): Command {
  schemas.set(cmd, schema);
  return cmd.action((...args: unknown[]) => {
    const { self, raw } = actionInput(args);
    return run(parseOptions(self, schema, raw));
  });
}

/** What commander hands an action (each declared argument, the options, the command) as one record:
 * the options, and each argument under its name, so the schema checks arguments as it checks flags. */
export function actionInput(args: unknown[]): { self: Command; raw: Record<string, unknown> } {
  const self = args.at(-1) as Command;
  const raw: Record<string, unknown> = { ...(args.at(-2) as Record<string, unknown>) };
  self.registeredArguments.forEach((a, i) => {
    raw[a.name()] = args[i];
  });
  return { self, raw };
}

/** The schema a command's options go through, so a test can check an example without running it. */
export function optionsSchema(cmd: Command): z.ZodType | undefined {
  return schemas.get(cmd);
}
