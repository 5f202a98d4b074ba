// Scrubs provider error text: secret values of the call, credential shapes, and the request/trace ids that make messages unique.
import { Redactor } from "../../runtime/redact.js";

// Ids that differ on every call: they would defeat status de-duplication and mean nothing to a reader.
const REQUEST_IDS: RegExp[] = [
  /\s*Trace ID: \S+/gi,
  /\s*Correlation ID: \S+/gi,
  /\s*Timestamp: \d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?Z?/gi,
  /\s*\(?Request ?Id:? [\w-]+\)?/gi,
];

const MAX_MESSAGE_CHARS = 300;

/**
 * Returns `text` without the given secret values, known credential shapes and request ids, on
 * one line and at most 300 characters. Pure; never throws.
 */
export function sanitizeProviderText(text: string, secrets: readonly string[]): string {
  const redactor = new Redactor();
  redactor.register(...secrets);
  let out = text;
  // Short secrets are skipped by the Redactor (collision risk in logs); here the text is one message, so remove them too.
  for (const s of secrets) if (s.length > 0 && s.length < 6 && out.includes(s)) out = out.split(s).join("[REDACTED]");
  out = redactor.scrub(out);
  for (const re of REQUEST_IDS) out = out.replace(re, "");
  out = out.replace(/\s+/g, " ").trim();
  return out.length > MAX_MESSAGE_CHARS ? `${out.slice(0, MAX_MESSAGE_CHARS - 1)}…` : out;
}

/** A plain Error standing in for an SDK error: its code as name, the scrubbed message, nothing else. */
export function sanitizedCause(code: string, message: string, secrets: readonly string[]): Error {
  const cause = new Error(sanitizeProviderText(message, secrets));
  cause.name = code;
  // The stack of a stand-in points at the classifier, not at the SDK; drop it to keep logs short.
  cause.stack = `${cause.name}: ${cause.message}`;
  return cause;
}
