// Text for the person at the terminal: names from input echoed safely, every line capped, the closest known name suggested.
import { echoName } from "../model/text.js";

/** How much of a name from input (a flag, a variable, a file key or path) a message repeats. */
export const MAX_NAME_BYTES = 120;
/** The longest error line the CLI prints; a message can never grow with its input past this. */
export const MAX_LINE_BYTES = 480;

/** A name from input, fit to repeat in a message: invisible characters escaped, capped with "…". Never for values. Pure. */
export function shownName(name: string, maxBytes: number = MAX_NAME_BYTES): string {
  return echoName(name, maxBytes);
}

/** One line for stderr: invisible characters escaped (no forged second line) and capped with "…". Pure. */
export function terminalLine(text: string, maxBytes: number = MAX_LINE_BYTES): string {
  // The model's escaping of names (control, format and separator characters as \u{…}) serves whole lines too.
  return echoName(text, maxBytes);
}

/**
 * The candidate closest to `name` by edit distance, when it is close enough to be the likely
 * meaning of a typo (at most 2 edits, 1 for a name under 8 characters), else undefined.
 * Names longer than 64 characters are never matched: no typo is that long, and the cost stays small. Pure.
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  if (name.length > 64) return undefined;
  const limit = Math.min(2, Math.max(1, Math.floor(name.length / 4)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment). Pure. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Math.abs(a.length - b.length);
  let prevPrev: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (prevPrev[j - 2] ?? 0) + 1);
      row.push(d);
    }
    prevPrev = prev;
    prev = row;
  }
  return prev[b.length] ?? 0;
}
