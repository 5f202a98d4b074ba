// A glob matcher (`*` any run, `?` one character) that cannot backtrack: linear scans, never a regular expression.
//
// A glob `h*m1*m2*…*t` splits at its stars into a head, middles and a tail. The head must match at
// the start and the tail at the end; each middle is then taken at its leftmost place after the
// previous one. Leftmost is always safe because the star after a middle absorbs whatever a later
// choice would have skipped, so no choice is ever undone: one forward pass per middle, where a
// regular expression `^.*a.*a.*b$` tries every split (exponential in the stars). A literal middle
// is found by indexOf; one with `?` by a bit-parallel scan (Shift-And), so a middle that almost
// matches everywhere costs one pass of the name, not a comparison of the whole middle per place.
// `?` and literals compare UTF-16 code units, case-sensitively, as the old `.` did.

/** A run of the glob between stars: literal characters and `?`. */
interface Segment {
  text: string;
  /** Its literal pieces and where each sits; `?` is the gap between them. Empty for a run of `?` only. */
  pieces: readonly { offset: number; text: string }[];
  /** For a middle with a `?`: its bit-parallel search; literal middles use indexOf. */
  search: ShiftAnd | undefined;
}

/**
 * Shift-And: bit k of the state says "the segment's first k+1 characters match, ending here", so
 * one pass over the name finds the first place the segment matches, whatever it holds. A loop
 * comparing the segment at each place would cost name × segment; this costs name × words.
 */
interface ShiftAnd {
  /** 31-bit words of state: JavaScript's bitwise operators work on 32-bit integers, and one bit stays clear of the sign. */
  words: number;
  /** Per ASCII code (`code * words + word`), the positions it may stand at: its own, and every `?`. */
  ascii: Int32Array;
  /** The same for other codes a literal uses; any other character fits only the `?` positions. */
  other: ReadonlyMap<number, Int32Array>;
  wildcards: Int32Array;
}

const BITS = 31;

export type NameMatcher = (name: string) => boolean;

function shiftAnd(text: string): ShiftAnd {
  const words = Math.ceil(text.length / BITS);
  const wildcards = new Int32Array(words);
  for (let k = 0; k < text.length; k++) if (text[k] === "?") wildcards[Math.floor(k / BITS)]! |= 1 << k % BITS;
  const ascii = new Int32Array(128 * words);
  for (let c = 0; c < 128; c++) ascii.set(wildcards, c * words);
  const other = new Map<number, Int32Array>();
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === 63 /* ? */) continue;
    const w = Math.floor(k / BITS);
    const bit = 1 << k % BITS;
    if (c < 128) ascii[c * words + w]! |= bit;
    else {
      const masks = other.get(c) ?? Int32Array.from(wildcards);
      masks[w]! |= bit;
      other.set(c, masks);
    }
  }
  return { words, ascii, other, wildcards };
}

/** `searched` for a middle: the head and the tail are only compared in place. */
function segment(text: string, searched = false): Segment {
  const pieces: { offset: number; text: string }[] = [];
  let offset = 0;
  for (const piece of text.split("?")) {
    if (piece !== "") pieces.push({ offset, text: piece });
    offset += piece.length + 1;
  }
  return { text, pieces, search: searched && text.includes("?") ? shiftAnd(text) : undefined };
}

/** Whether `seg` matches `name` at `at` exactly (the caller has checked it fits). */
function segmentAt(name: string, at: number, seg: Segment): boolean {
  // `?` takes any one character, so only the literal pieces are compared, each natively.
  for (const p of seg.pieces) if (!name.startsWith(p.text, at + p.offset)) return false;
  return true;
}

/** The leftmost place in [from, last] where `seg` matches, or -1. */
function findSegment(name: string, seg: Segment, from: number, last: number): number {
  const search = seg.search;
  if (search === undefined) {
    const at = name.indexOf(seg.text, from);
    return at !== -1 && at <= last ? at : -1;
  }
  const { words, ascii, other, wildcards } = search;
  const length = seg.text.length;
  const found = 1 << (length - 1) % BITS;
  // The segment ending at i starts at i - length + 1; starts run from `from` to `last`.
  const end = last + length;
  if (words === 1) {
    // Most middles fit one word: the same scan with the state in a plain integer.
    const lone = wildcards[0]!;
    let state = 0;
    for (let i = from; i < end; i++) {
      const c = name.charCodeAt(i);
      state = ((state << 1) | 1) & (c < 128 ? ascii[c]! : (other.get(c)?.[0] ?? lone));
      if ((state & found) !== 0) return i - length + 1;
    }
    return -1;
  }
  const state = new Int32Array(words);
  for (let i = from; i < end; i++) {
    const c = name.charCodeAt(i);
    const masks = c < 128 ? undefined : (other.get(c) ?? wildcards);
    // Each word takes the bit that left the top of the word before it, as one long shift.
    let carry = 1;
    for (let w = 0; w < words; w++) {
      const before = state[w]!;
      state[w] = ((before << 1) | carry) & (masks === undefined ? ascii[c * words + w]! : masks[w]!);
      carry = (before >>> (BITS - 1)) & 1;
    }
    if ((state[words - 1]! & found) !== 0) return i - length + 1;
  }
  return -1;
}

/**
 * Compiles `glob` (`*` any run of characters, `?` exactly one, anything else itself) into a
 * predicate that is true when the whole name matches. Runs of `*` are one star. Pure; never throws;
 * no backtracking: each call is one forward pass per middle, O(name.length × glob.length) at worst.
 */
export function compileGlob(glob: string): NameMatcher {
  const parts = glob.split("*");
  const head = segment(parts[0] ?? "");
  if (parts.length === 1) return (name) => name.length === head.text.length && segmentAt(name, 0, head);

  const tail = segment(parts[parts.length - 1] ?? "");
  // Empty middles come from runs of stars (`a**b`): a star next to a star adds nothing.
  const middles = parts.slice(1, -1).filter((p) => p !== "").map((p) => segment(p, true));
  const minLength = head.text.length + tail.text.length + middles.reduce((n, m) => n + m.text.length, 0);
  return (name) => {
    if (name.length < minLength) return false;
    const tailAt = name.length - tail.text.length;
    if (!segmentAt(name, 0, head) || !segmentAt(name, tailAt, tail)) return false;
    let from = head.text.length;
    for (const middle of middles) {
      const at = findSegment(name, middle, from, tailAt - middle.text.length);
      if (at === -1) return false;
      from = at + middle.text.length;
    }
    return true;
  };
}
