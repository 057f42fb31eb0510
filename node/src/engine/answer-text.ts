// Prompts and answers as the course node writes and cleans them.

export function promptFor(question: string): string {
  return `Q: ${question.trim()}\nA:`;
}

/**
 * The course's clean-up of generated text: keep what follows "A:", cut at the first newline or
 * end-of-text, collapse immediately repeated words ("4 4 4" → "4"), trim.
 */
export function cleanAnswer(text: string): string {
  let s = text;
  const a = s.lastIndexOf("A:");
  if (a >= 0) s = s.slice(a + 2);
  s = s.replace(/^\s+/, "");
  const cut = s.search(/\n|<\|endoftext\|>/);
  if (cut >= 0) s = s.slice(0, cut);
  const words = s.trim().split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (const w of words) if (out[out.length - 1] !== w) out.push(w);
  return out.join(" ");
}
