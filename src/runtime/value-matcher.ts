// Finds every occurrence of many literal values in one left-to-right pass: the redactor's matcher.

/** Values shorter than this are never indexed (the redactor ignores them as too likely to collide). */
export const MIN_VALUE_LENGTH = 6;

const WINDOW = MIN_VALUE_LENGTH;
// A bucket this full stops accepting anchors: it bounds the candidates checked at one text position.
const MAX_BUCKET = 4;
const HASH_MULTIPLIER = 0x01000193;
// WINDOW - 1 powers of the multiplier (mod 2^32), to roll the oldest character out.
const OUT_FACTOR = (() => {
  let f = 1;
  for (let i = 1; i < WINDOW; i++) f = Math.imul(f, HASH_MULTIPLIER);
  return f;
})();

interface Anchored {
  value: string;
  /** Where the anchor window starts inside `value`. */
  offset: number;
  key: number;
}

/** Keeps the rolling hash a small integer, so Map keys stay unboxed. */
function bucketKey(hash: number): number {
  return (hash ^ (hash >>> 15)) & 0x3fffffff;
}

function windowHash(text: string, start: number): number {
  let h = 0;
  for (let i = start; i < start + WINDOW; i++) h = (Math.imul(h, HASH_MULTIPLIER) + text.charCodeAt(i)) | 0;
  return h;
}

/**
 * A set of literal values with `find` returning, in one pass over a text, the span of every
 * occurrence (overlapping ones included). Add and remove cost the value's length; nothing is
 * rebuilt for the common case.
 *
 * Each value is indexed under one anchor: a window of 6 characters that occurs exactly once in
 * the value and that at most three other values share. `find` hashes every window of the text
 * (rolling, O(1) a position) and, where a window is some value's anchor, compares the text
 * outward from the anchor. Why that is linear: at most 4 candidates per position, and because a
 * value's anchor occurs once in it, a forward comparison that runs past the next occurrence of
 * the anchor in the text would have found the anchor twice in the value — so the forward
 * comparisons of one value never overlap, nor do the backward ones: O(4 × 2n) comparisons at
 * worst, hash collisions included (they cost one window comparison).
 *
 * Values with no usable anchor (periodic ones such as "aaaaaaaa", or more than four values
 * alike in every window) go to an Aho–Corasick automaton instead, rebuilt on the first `find`
 * after such a value was added or removed. Real secrets (random, high entropy) never land there.
 */
export class ValueMatcher {
  private readonly anchored = new Map<string, Anchored>();
  // One anchor, or several sharing a key (rare): most buckets stay a single object.
  private readonly buckets = new Map<number, Anchored | Anchored[]>();
  /**
   * How many bucket keys fall in each slot (key & mask): a position whose slot is 0 needs no
   * Map lookup, which is most positions. Kept at ≥ 8 slots per key; counts saturate, never wrap.
   */
  private filter = new Uint16Array(1 << 8);
  private mask = (1 << 8) - 1;
  private readonly fallback = new Set<string>();
  private automaton: Automaton | undefined;

  get size(): number {
    return this.anchored.size + this.fallback.size;
  }

  has(value: string): boolean {
    return this.anchored.has(value) || this.fallback.has(value);
  }

  /** Adds `value` (at least 6 characters; shorter ones are ignored). Idempotent. */
  add(value: string): void {
    if (value.length < WINDOW || this.has(value)) return;
    const anchor = this.chooseAnchor(value);
    if (anchor === undefined) {
      this.fallback.add(value);
      this.automaton = undefined;
      return;
    }
    this.anchored.set(value, anchor);
    const bucket = this.buckets.get(anchor.key);
    if (bucket === undefined) {
      this.buckets.set(anchor.key, anchor);
      this.countKey(anchor.key, 1);
    } else if (Array.isArray(bucket)) bucket.push(anchor);
    else this.buckets.set(anchor.key, [bucket, anchor]);
  }

  /** Removes `value`; true when it was present. */
  delete(value: string): boolean {
    const anchor = this.anchored.get(value);
    if (anchor === undefined) {
      if (!this.fallback.delete(value)) return false;
      this.automaton = undefined;
      return true;
    }
    this.anchored.delete(value);
    const bucket = this.buckets.get(anchor.key);
    if (bucket === anchor) {
      this.buckets.delete(anchor.key);
      this.countKey(anchor.key, -1);
    } else if (Array.isArray(bucket)) {
      const rest = bucket.filter((a) => a !== anchor);
      this.buckets.set(anchor.key, rest.length === 1 ? rest[0]! : rest);
    }
    return true;
  }

  values(): string[] {
    return [...this.anchored.keys(), ...this.fallback];
  }

  /**
   * Every occurrence of every value in `text`, as a flat list of [start, end) pairs (unordered).
   * Linear in the text's length (see the class comment). Does not throw.
   */
  find(text: string): number[] {
    const spans: number[] = [];
    const n = text.length;
    if (n < WINDOW) return spans;
    if (this.buckets.size > 0) this.findAnchored(text, spans);
    if (this.fallback.size > 0) {
      this.automaton ??= new Automaton([...this.fallback]);
      this.automaton.find(text, spans);
    }
    return spans;
  }

  private findAnchored(text: string, spans: number[]): void {
    const n = text.length;
    const buckets = this.buckets;
    const filter = this.filter;
    const mask = this.mask;
    let h = windowHash(text, 0);
    for (let p = 0; ; p++) {
      const key = bucketKey(h);
      if (filter[key & mask] !== 0) {
        const bucket = buckets.get(key);
        if (bucket === undefined) {
          // A slot shared with another key: nothing here.
        } else if (Array.isArray(bucket)) for (const a of bucket) matchAt(text, p, a, spans);
        else matchAt(text, p, bucket, spans);
      }
      if (p + WINDOW >= n) break;
      h = (Math.imul(h - Math.imul(text.charCodeAt(p), OUT_FACTOR), HASH_MULTIPLIER) + text.charCodeAt(p + WINDOW)) | 0;
    }
  }

  private countKey(key: number, delta: 1 | -1): void {
    if (delta > 0 && this.buckets.size * 8 > this.filter.length) {
      // Grown past its load: rebuild at four times the size from the buckets (which already hold `key`).
      const size = this.filter.length * 4;
      this.filter = new Uint16Array(size);
      this.mask = size - 1;
      for (const k of this.buckets.keys()) this.bump(k & this.mask, 1);
      return;
    }
    this.bump(key & this.mask, delta);
  }

  private bump(slot: number, delta: 1 | -1): void {
    const c = this.filter[slot]!;
    // A saturated slot stays "maybe" for good: a false positive costs one Map lookup, a false negative a leak.
    if (c !== 0xffff) this.filter[slot] = c + delta;
  }

  private chooseAnchor(value: string): Anchored | undefined {
    const count = new Map<number, number>();
    const keys: number[] = [];
    let h = windowHash(value, 0);
    for (let p = 0; ; p++) {
      const key = bucketKey(h);
      keys.push(key);
      count.set(key, (count.get(key) ?? 0) + 1);
      if (p + WINDOW >= value.length) break;
      h = (Math.imul(h - Math.imul(value.charCodeAt(p), OUT_FACTOR), HASH_MULTIPLIER) + value.charCodeAt(p + WINDOW)) | 0;
    }
    let best: Anchored | undefined;
    let bestLoad = MAX_BUCKET;
    for (let p = 0; p < keys.length; p++) {
      const key = keys[p]!;
      // A hash seen twice may be one window twice: not unique, so not an anchor.
      if (count.get(key) !== 1) continue;
      const bucket = this.buckets.get(key);
      const load = bucket === undefined ? 0 : Array.isArray(bucket) ? bucket.length : 1;
      if (load < bestLoad) {
        best = { value, offset: p, key };
        bestLoad = load;
        if (load === 0) break;
      }
    }
    return best;
  }
}

/** Records [start, end) when `a.value` occurs in `text` with its anchor at position `p`. */
function matchAt(text: string, p: number, a: Anchored, spans: number[]): void {
  const v = a.value;
  const start = p - a.offset;
  const end = start + v.length;
  if (start < 0 || end > text.length) return;
  const o = a.offset;
  for (let i = 0; i < WINDOW; i++) if (text.charCodeAt(p + i) !== v.charCodeAt(o + i)) return;
  for (let i = o + WINDOW; i < v.length; i++) if (text.charCodeAt(start + i) !== v.charCodeAt(i)) return;
  for (let i = o - 1; i >= 0; i--) if (text.charCodeAt(start + i) !== v.charCodeAt(i)) return;
  spans.push(start, end);
}

interface AcNode {
  next: Map<number, AcNode>;
  fail: AcNode | undefined;
  /** Length of the longest value that ends here (this node or via failure links); 0 when none. */
  longest: number;
}

/** Plain Aho–Corasick over a few values, reporting the longest value ending at each position. */
class Automaton {
  private readonly root: AcNode = { next: new Map(), fail: undefined, longest: 0 };

  constructor(values: readonly string[]) {
    for (const v of values) {
      let node = this.root;
      for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i);
        let child = node.next.get(c);
        if (child === undefined) node.next.set(c, (child = { next: new Map(), fail: undefined, longest: 0 }));
        node = child;
      }
      node.longest = v.length;
    }
    // Breadth first, so every failure target (a shorter suffix) is complete before it is used.
    const queue: AcNode[] = [];
    for (const child of this.root.next.values()) {
      child.fail = this.root;
      queue.push(child);
    }
    for (let q = 0; q < queue.length; q++) {
      const node = queue[q]!;
      for (const [c, child] of node.next) {
        let f = node.fail;
        while (f !== undefined && !f.next.has(c)) f = f.fail;
        child.fail = f?.next.get(c) ?? this.root;
        if (child.longest === 0) child.longest = child.fail.longest;
        queue.push(child);
      }
    }
  }

  find(text: string, spans: number[]): void {
    let node = this.root;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      while (node !== this.root && !node.next.has(c)) node = node.fail ?? this.root;
      node = node.next.get(c) ?? this.root;
      // Every shorter value ending here lies inside this one, so the longest is enough.
      if (node.longest > 0) spans.push(i + 1 - node.longest, i + 1);
    }
  }
}
