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
