// Text helpers for strings credbroker publishes: byte-capped, UTF-8 safe.

const ELLIPSIS = "…";

/**
 * Returns `text` unchanged when its UTF-8 encoding fits `maxBytes`; otherwise the longest prefix
 * of whole code points that fits together with a trailing "…". Never splits a multi-byte
 * character or a surrogate pair. Pure.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  const budget = maxBytes - Buffer.byteLength(ELLIPSIS, "utf8");
  if (budget < 0) return "";
  let used = 0;
  let out = "";
  // for..of iterates code points, so a surrogate pair is taken or left as a whole.
  for (const ch of text) {
    const size = Buffer.byteLength(ch, "utf8");
    if (used + size > budget) break;
    used += size;
    out += ch;
  }
  return out + ELLIPSIS;
}

/**
 * JSON with object keys sorted, so two equal values always give the same text. Pure. An object
 * whose keys are already in order (most of what the API server returns) is written as it is, not
 * copied: a publish digests specs of hundreds of function entries, and the copies were most of
 * the broker's allocation at fleet scale.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
    const keys = Object.keys(v);
    if (inOrder(keys)) return v;
    const sorted: Record<string, unknown> = {};
    // Defined, not assigned: an own `__proto__` key (JSON.parse makes them) stays a key instead of becoming the copy's prototype.
    for (const k of keys.sort()) Object.defineProperty(sorted, k, { value: (v as Record<string, unknown>)[k], enumerable: true, writable: true, configurable: true });
    return sorted;
  });
}

function writesItself(v: unknown): boolean {
  return typeof v === "object" && v !== null && typeof (v as { toJSON?: unknown }).toJSON === "function";
}

function inOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  return true;
}

/**
 * Whether two JSON values are equal as canonicalJson sees them (key order ignored, a property
 * holding undefined the same as an absent one), without writing either out. Pure.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // A value that writes itself (a Date): compared as written, as canonicalJson would.
  if (writesItself(a) || writesItself(b)) return canonicalJson(a) === canonicalJson(b);
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    defined++;
    if (!Object.hasOwn(y, k) || !jsonEqual(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined) defined--;
  return defined === 0;
}

/** How much of a name or key from input a message or field path repeats: enough to recognise it. */
export const MAX_ECHO_BYTES = 96;

// Characters that would make an echoed name unreadable or forge a line in a log.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * A name taken from input (a key, a Secret name, a spec key), fit to be repeated in a message or
 * field path: control and invisible characters written as `\u{…}`, then capped to `maxBytes`
 * with a trailing "…". Only for names: secret values are never echoed at all. Pure.
 */
export function echoName(name: string, maxBytes: number = MAX_ECHO_BYTES): string {
  // Escaping first can only lengthen the text, so capping after it still bounds the result.
  const printable = name.replace(UNPRINTABLE, (ch) => `\\u{${codePointHex(ch)}}`);
  return truncateUtf8(printable, maxBytes);
}

/** "U+200B": the code point of the first character of `ch`, as Unicode writes it. Pure. */
export function codePointLabel(ch: string): string {
  return `U+${codePointHex(ch)}`;
}

function codePointHex(ch: string): string {
  return (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
}
