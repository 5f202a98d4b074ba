// Canary scanning: every encoding a secret value could leak in (raw, base64 at any alignment, URL-encoded, JSON-escaped), searched across captured texts.

/** One captured output: where it came from (a log, /metrics, an Event list...) and its text. */
export interface CapturedText {
  source: string;
  text: string;
}

/** A canary found: which one, in which encoding, in which source. Never holds the value itself. */
export interface CanaryHit {
  canary: string;
  encoding: string;
  source: string;
}

/**
 * The base64 text that encodes `value` wherever it sits in a longer encoded string: the three byte
 * alignments, each without the edge groups that mix in neighbouring bytes. Pure.
 */
function base64Fragments(value: Buffer, alphabet: "base64" | "base64url"): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), value]);
    const encoded = padded.toString(alphabet);
    const start = offset === 0 ? 0 : 4;
    const end = Math.floor(padded.length / 3) * 4;
    const fragment = encoded.slice(start, end);
    // Too short a fragment would match by chance; the canaries here are long enough never to get there.
    if (fragment.length >= 12) out.push(fragment);
  }
  // The whole value encoded alone, padding included, as a Secret's data field holds it.
  out.push(value.toString(alphabet));
  return out;
}

/** Go's encoding/json escapes these too (Vault's bodies): a value with `&` looks different there. */
function goJsonEscape(value: string): string {
  return JSON.stringify(value)
    .slice(1, -1)
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Every form of `value` worth searching for, by name: raw, trimmed and untrimmed, base64 and
 * base64url at every alignment, URL- and form-encoded, JSON-escaped (once, twice, Go-style).
 * Pure; forms shorter than 8 characters are dropped (they would match by chance).
 */
export function canaryEncodings(value: string): Map<string, string> {
  const forms = new Map<string, string>();
  const add = (encoding: string, text: string): void => {
    if (text.length >= 8 && ![...forms.values()].includes(text)) forms.set(encoding, text);
  };
  const variants = new Map<string, string>([["untrimmed", value]]);
  if (value.trim() !== value) variants.set("trimmed", value.trim());
  for (const [variant, v] of variants) {
    add(`raw (${variant})`, v);
    base64Fragments(Buffer.from(v, "utf8"), "base64").forEach((f, i) => add(`base64 #${i} (${variant})`, f));
    base64Fragments(Buffer.from(v, "utf8"), "base64url").forEach((f, i) => add(`base64url #${i} (${variant})`, f));
    add(`url-encoded (${variant})`, encodeURIComponent(v));
    add(`form-encoded (${variant})`, new URLSearchParams({ v }).toString().slice(2));
    add(`json-escaped (${variant})`, JSON.stringify(v).slice(1, -1));
    add(`json-escaped twice (${variant})`, JSON.stringify(JSON.stringify(v)).slice(3, -3));
    add(`go-json-escaped (${variant})`, goJsonEscape(v));
  }
  return forms;
}

/**
 * Searches every captured text for every encoding of every canary (`name → secret value`). Pure.
 * Returns the hits, naming canary, encoding and source only, so a failing assertion prints no secret.
 */
export function scanForCanaries(canaries: ReadonlyMap<string, string>, captured: readonly CapturedText[]): CanaryHit[] {
  const hits: CanaryHit[] = [];
  for (const [canary, value] of canaries) {
    for (const [encoding, needle] of canaryEncodings(value)) {
      for (const { source, text } of captured) if (text.includes(needle)) hits.push({ canary, encoding, source });
    }
  }
  return hits;
}
