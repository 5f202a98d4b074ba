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

/** JSON with object keys sorted, so two equal values always give the same text. Pure. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
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
