// Removes credential values from anything about to leave the process: log fields, messages, errors, URLs.

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

/**
 * Holds the secret values seen by this process (registered when material is resolved) and
 * scrubs them, the known credential shapes and the sensitive keys from strings and objects.
 * Pure apart from its own registry; never throws.
 */
export class Redactor {
  private readonly values = new Set<string>();
  private ordered: string[] = [];

  /** At most this many values are remembered; the oldest (long rotated away) are forgotten first. */
  constructor(private readonly maxValues = 20_000) {}

  /** Remembers secret values so they are removed wherever they later appear. Values under 6 chars are ignored (too likely to collide). */
  register(...values: (string | undefined)[]): void {
    let added = false;
    for (const v of values) {
      if (v === undefined || v.length < 6 || this.values.has(v)) continue;
      this.values.add(v);
      // Sets iterate in insertion order: the first values are the oldest.
      for (const old of this.values) {
        if (this.values.size <= this.maxValues) break;
        this.values.delete(old);
      }
      // Multi-line values (PEM) are also matched line by line, in case they are printed folded.
      if (v.includes("\n")) for (const line of v.split(/\r?\n/)) if (line.length >= 16) this.values.add(line);
      added = true;
    }
    // Longest first, so a value that contains another is removed whole.
    if (added) this.ordered = [...this.values].sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.values.size;
  }

  /** Returns `text` with registered values and credential shapes replaced by [REDACTED]. */
  scrub(text: string): string {
    let out = text;
    for (const v of this.ordered) if (out.includes(v)) out = out.split(v).join(REDACTED);
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
