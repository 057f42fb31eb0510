// The one definition of what a node id and a delta version may look like. The course wire splits
// headers on `|` and bodies on `;` and `=`, and versions become file names in a state folder, so
// both stay within [A-Za-z0-9._-].

/** The characters every id and version is made of. */
const TOKEN_CHARS = "A-Za-z0-9._-";

/** An id we give a node of ours: 1-64 token characters, starting with a letter or digit. */
const NODE_ID = new RegExp(`^[A-Za-z0-9][${TOKEN_CHARS}]{0,63}$`);
/** An id or version as it may arrive from any peer (course nodes included): 1-128 token characters. */
const WIRE_TOKEN = new RegExp(`^[${TOKEN_CHARS}]{1,128}$`);
const NOT_TOKEN = new RegExp(`[^${TOKEN_CHARS}]`, "g");

/** Said wherever a node id is refused, so every refusal reads the same. */
export const NODE_ID_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (the course wire splits on | ; =)";

export function isNodeId(s: string): boolean {
  return NODE_ID.test(s);
}

/** A SRC or version from the wire that is safe to parse, log and use in a file name. */
export function isWireToken(s: string): boolean {
  return WIRE_TOKEN.test(s);
}

/** `s` with every character outside the token set replaced by `_`, cut to `max` characters. */
export function toToken(s: string, max: number): string {
  return s.replace(NOT_TOKEN, "_").slice(0, max);
}
