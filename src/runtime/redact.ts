// Removes credential values from anything about to leave the process: log fields, messages, errors, URLs.
import { MIN_VALUE_LENGTH, ValueMatcher } from "./value-matcher.js";

export const REDACTED = "[REDACTED]";

/** Keys whose values are credentials wherever they appear (compared case-insensitively, `-`/`_` ignored). */
const SENSITIVE_KEYS = new Set(
  [
    "secretAccessKey", "aws_secret_access_key", "sessionToken", "aws_session_token", "secretKey",
    "clientSecret", "client_secret", "azure_client_secret", "clientCertificate", "azure_client_certificate",
    "apiKeys", "masterKey", "functionKeys", "systemKeys", "token", "client_token", "clientToken", "jwt",
    "authorization", "proxy-authorization", "cookie", "set-cookie", "password", "x-vault-token",
    "x-amz-security-token", "secret_id", "secretId", "access_token", "refresh_token", "id_token",
    "client_assertion", "privateKey", "private_key", "default", "bearer",
  ].map(normaliseKey),
);

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}

/** Shapes that are credentials whatever key holds them. */
const PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, // JWTs
  /\bhv[sbr]\.[A-Za-z0-9_-]{16,}/g, // Vault service/batch/recovery tokens
  /(\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
  /((?:x-vault-token|x-amz-security-token|authorization)\s*[:=]\s*)[^\s,;"']+/gi,
  /([?&](?:token|access_token|sig|signature|x-amz-signature|x-amz-security-token|x-amz-credential|client_secret|secret_id|code|jwt|client_assertion)=)[^&\s#"']+/gi,
  /((?:Signature|Credential)=)[A-Za-z0-9/_+=-]{16,}/g, // SigV4 Authorization header parts
  /(\bclient_secret=)[^&\s]+/gi,
];

/** How many values the redactor keeps beyond those retained by a live owner. */
export interface RedactorOptions {
  /** Values registered without an owner (`register`), least recently registered forgotten first. Default 20,000. */
  maxUnowned?: number;
  /** Values no owner retains any more (rotated away, upstream deleted), still scrubbed until this many newer ones follow. Default 20,000. */
  maxReleased?: number;
}

/**
 * Holds the secret values seen by this process and scrubs them, the known credential shapes and
 * the sensitive keys from strings and objects. Values come in two ways: `retain(owner, values)`
 * by whoever holds them (the resolver, per secret in use), kept until `release(owner)` and then
 * for a bounded while; and `register(values)` from callers with no owner, kept in a bounded
 * least-recently-registered list. A retained value is never forgotten, however many others come.
 * Pure apart from its own registry; never throws.
 */
export class Redactor {
  private readonly matcher = new ValueMatcher();
  /** Each owner's values (lines of multi-line values included). */
  private readonly owned = new Map<string, readonly string[]>();
  /** How many owners retain each value. */
  private readonly owners = new Map<string, number>();
  // Maps iterate in insertion order: re-inserting moves a value to the young end.
  private readonly unowned = new Map<string, true>();
  private readonly released = new Map<string, true>();
  private readonly maxUnowned: number;
  private readonly maxReleased: number;

  constructor(options: RedactorOptions = {}) {
    this.maxUnowned = options.maxUnowned ?? 20_000;
    this.maxReleased = options.maxReleased ?? 20_000;
  }

  /**
   * Remembers values without an owner so they are removed wherever they later appear; the least
   * recently registered are forgotten past `maxUnowned` unless an owner retains them. Values
   * under 6 chars are ignored (too likely to collide). Idempotent.
   */
  register(...values: (string | undefined)[]): void {
    for (const v of expand(values)) {
      this.unowned.delete(v);
      this.unowned.set(v, true);
      this.matcher.add(v);
    }
    trim(this.unowned, this.maxUnowned, (v) => this.forgetIfUnused(v));
  }

  /**
   * Makes `values` the ones `owner` holds (replacing what it held before): kept and scrubbed until
   * released. Values it no longer holds, and no other owner does, move to the recently released.
   * Idempotent; costs the values' length, whatever the number of values known.
   */
  retain(owner: string, values: readonly (string | undefined)[]): void {
    const next = expand(values);
    const before = new Set(this.owned.get(owner));
    for (const v of next) {
      if (before.delete(v)) continue;
      this.owners.set(v, (this.owners.get(v) ?? 0) + 1);
      this.released.delete(v);
      this.matcher.add(v);
    }
    if (next.length > 0) this.owned.set(owner, next);
    else this.owned.delete(owner);
    // What is left of `before` is what the owner let go.
    for (const v of before) this.unretain(v);
    trim(this.released, this.maxReleased, (v) => this.forgetIfUnused(v));
  }

  /** `owner` holds nothing any more: its values stay scrubbed for a while (`maxReleased`), then are forgotten. Idempotent. */
  release(owner: string): void {
    this.retain(owner, []);
  }

  /** Distinct values scrubbed now (lines of multi-line values counted on their own). */
  get size(): number {
    return this.matcher.size;
  }

  /** Returns `text` with registered values and credential shapes replaced by [REDACTED]. */
  scrub(text: string): string {
    let out = replaceSpans(text, this.matcher.find(text));
    for (const re of PATTERNS) {
      out = out.replace(re, (match: string, prefix?: unknown) => (typeof prefix === "string" && match.startsWith(prefix) ? prefix + REDACTED : REDACTED));
    }
    return out;
  }

  /** Deep copy of `value` with sensitive keys, registered values and credential shapes removed. Handles cycles and Errors (with causes). */
  scrubValue(value: unknown): unknown {
    return this.walk(value, new WeakMap(), 0);
  }

  /** A plain, scrubbed object for an Error: type, message, reason, code and the cause chain, no stack of secrets. */
  serializeError(err: unknown): unknown {
    return this.walk(err, new WeakMap(), 0);
  }

  private unretain(value: string): void {
    const count = (this.owners.get(value) ?? 0) - 1;
    if (count > 0) {
      this.owners.set(value, count);
      return;
    }
    this.owners.delete(value);
    this.released.delete(value);
    this.released.set(value, true);
  }

  private forgetIfUnused(value: string): void {
    if (!this.owners.has(value) && !this.unowned.has(value) && !this.released.has(value)) this.matcher.delete(value);
  }

  private walk(value: unknown, seen: WeakMap<object, unknown>, depth: number): unknown {
    if (typeof value === "string") return this.scrub(value);
    if (typeof value !== "object" || value === null) return value;
    if (depth > 12) return "[depth limit]";
    if (seen.has(value)) return "[circular]";
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
    if (value instanceof Error) return this.walkError(value, seen, depth);
    if (value instanceof Date) return value.toISOString();
    if (value instanceof URL) return this.scrub(value.toString());
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      seen.set(value, out);
      for (const item of value) out.push(this.walk(item, seen, depth + 1));
      return out;
    }
    if (value instanceof Map) return this.walk(Object.fromEntries(value), seen, depth);
    // Objects with their own toJSON (sealed credentials) speak for themselves.
    const withJson = value as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === "function") {
      seen.set(value, "[circular]");
      return this.walk(withJson.toJSON(), seen, depth + 1);
    }
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    seen.set(value, out);
    // A Kubernetes Secret's data is credentials whatever its keys are called.
    const isSecretObject = obj.kind === "Secret";
    for (const [k, v] of Object.entries(obj)) {
      if (SENSITIVE_KEYS.has(normaliseKey(k)) && v !== undefined && v !== null && v !== "") out[k] = REDACTED;
      else if (isSecretObject && (k === "data" || k === "stringData") && v !== null && typeof v === "object") out[k] = REDACTED;
      else out[k] = this.walk(v, seen, depth + 1);
    }
    return out;
  }

  private walkError(err: Error, seen: WeakMap<object, unknown>, depth: number): unknown {
    const out: Record<string, unknown> = { type: err.name, message: this.scrub(err.message) };
    seen.set(err, out);
    const extra = err as unknown as Record<string, unknown>;
    for (const key of ["reason", "retryable", "field", "code", "statusCode", "status"]) {
      if (extra[key] !== undefined && typeof extra[key] !== "object") out[key] = this.walk(extra[key], seen, depth + 1);
    }
    if (err.stack) out.stack = this.scrub(err.stack);
    if (err.cause !== undefined) out.cause = this.walk(err.cause, seen, depth + 1);
    return out;
  }
}

/** The values worth remembering: at least 6 chars, and each line of a multi-line value (PEM), in case it is printed folded. */
function expand(values: readonly (string | undefined)[]): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (v === undefined || v.length < MIN_VALUE_LENGTH) continue;
    out.add(v);
    if (v.includes("\n")) for (const line of v.split(/\r?\n/)) if (line.length >= 16) out.add(line);
  }
  return [...out];
}

function trim(lru: Map<string, true>, max: number, forget: (value: string) => void): void {
  for (const v of lru.keys()) {
    if (lru.size <= max) break;
    lru.delete(v);
    forget(v);
  }
}

/**
 * `text` with each span replaced by one [REDACTED]; spans that overlap are one region, so the
 * longest match wins and a value containing another is removed whole. Spans that only touch stay
 * two markers, as repeated values always have.
 */
function replaceSpans(text: string, spans: number[]): string {
  if (spans.length === 0) return text;
  const order: number[] = [];
  for (let i = 0; i < spans.length; i += 2) order.push(i);
  order.sort((a, b) => spans[a]! - spans[b]! || spans[b + 1]! - spans[a + 1]!);
  let out = "";
  let cursor = 0;
  let regionEnd = -1;
  for (const i of order) {
    const start = spans[i]!;
    const end = spans[i + 1]!;
    if (start < regionEnd) {
      if (end > regionEnd) regionEnd = end;
      continue;
    }
    if (regionEnd >= 0) cursor = regionEnd;
    out += text.slice(cursor, start) + REDACTED;
    regionEnd = end;
  }
  return out + text.slice(regionEnd);
}
