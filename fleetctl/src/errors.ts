// Errors fleetctl reports to a person: a code scripts can match, what went wrong (naming the host
// or file), and what to do about it. They are printed in one place, at the edge (main.ts).

export type ErrorCode =
  | "USAGE"
  | "ANSIBLE_MISSING"
  | "DOCKER_MISSING"
  | "TOOL_MISSING"
  | "INVENTORY_MISSING"
  | "INVENTORY_INVALID"
  | "HOST_UNREACHABLE"
  | "PLAYBOOK_FAILED"
  | "NODE_DOWN"
  | "NODE_ERROR"
  | "CHECK_FAILED"
  | "ROSTER_MISSING"
  | "ROSTER_INVALID"
  | "TIMEOUT"
  | "SIM_FAILED"
  | "IMAGE_FAILED"
  | "COMMAND_FAILED";

export class FleetError extends Error {
  readonly code: ErrorCode;
  readonly suggestion: string | undefined;
  /** 1 for failures, 2 for usage errors. */
  readonly exitCode: 1 | 2;
  /** Structured detail for --json output (hosts that failed, ...). */
  readonly detail: Record<string, unknown> | undefined;
  /** The command already printed its result (e.g. as --json): only the message goes to stderr. */
  readonly reported: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { suggestion?: string; detail?: Record<string, unknown>; cause?: unknown; reported?: boolean } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "FleetError";
    this.code = code;
    this.suggestion = opts.suggestion;
    this.exitCode = code === "USAGE" ? 2 : 1;
    this.detail = opts.detail;
    this.reported = opts.reported ?? false;
  }
}

export function usageError(message: string, suggestion?: string): FleetError {
  return new FleetError("USAGE", message, { suggestion });
}

/** The one shape an error takes in --json output. */
export function errorJson(e: FleetError): Record<string, unknown> {
  return { ok: false, error: { code: e.code, message: e.message, suggestion: e.suggestion, ...(e.detail ?? {}) } };
}
