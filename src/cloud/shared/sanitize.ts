// Scrubs provider error text: secret values of the call, credential shapes, SDK boilerplate, and the request/trace ids that make messages unique.
import { echoName, truncateUtf8 } from "../../model/text.js";
import { Redactor } from "../../runtime/redact.js";

// Ids that differ on every call: they would defeat status de-duplication and mean nothing to a reader.
const REQUEST_IDS: RegExp[] = [
  /\s*Trace ID: \S+/gi,
  /\s*Correlation ID: \S+/gi,
  /\s*Timestamp: \d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?Z?/gi,
  /\s*\(?Request ?Id:? [\w-]+\)?/gi,
];

// What the AWS SDK appends when it could not read an answer: advice to a developer, not a fact about the call.
const SDK_BOILERPLATE = /\s*Deserialization error: to see the raw response, inspect the hidden field \{error\}\.\$response on this object\.?/g;

/** No provider text, and no message built around one, grows past this many UTF-8 bytes. */
export const MAX_PROVIDER_MESSAGE_BYTES = 512;

/** A provider's error code is an identifier; anything longer than this is not one. */
const MAX_CODE_BYTES = 64;

/**
 * Returns `text` without the given secret values, known credential shapes, SDK boilerplate and
 * request ids, on one line and at most `maxBytes` (default 512) UTF-8 bytes. Scrubbing comes
 * before capping, so a cut can never leave half a secret behind. Pure; never throws.
 */
export function sanitizeProviderText(text: string, secrets: readonly string[], maxBytes: number = MAX_PROVIDER_MESSAGE_BYTES): string {
  const redactor = new Redactor();
  redactor.register(...secrets);
  let out = text;
  // Short secrets are skipped by the Redactor (collision risk in logs); here the text is one message, so remove them too.
  for (const s of secrets) if (s.length > 0 && s.length < 6 && out.includes(s)) out = out.split(s).join("[REDACTED]");
  out = redactor.scrub(out);
  out = out.replace(SDK_BOILERPLATE, "");
  for (const re of REQUEST_IDS) out = out.replace(re, "");
  out = out.replace(/\s+/g, " ").trim();
  return truncateUtf8(out, maxBytes);
}

/**
 * A provider's error code fit to be repeated: scrubbed like text, invisible characters escaped,
 * at most 64 bytes (a hostile or broken endpoint chooses the code as freely as the body). Pure.
 */
export function sanitizeProviderCode(code: string, secrets: readonly string[]): string {
  return echoName(sanitizeProviderText(code, secrets), MAX_CODE_BYTES);
}

/** A plain Error standing in for an SDK error: its code as name, the scrubbed message, nothing else. */
export function sanitizedCause(code: string, message: string, secrets: readonly string[]): Error {
  const cause = new Error(sanitizeProviderText(message, secrets));
  cause.name = code;
  // The stack of a stand-in points at the classifier, not at the SDK; drop it to keep logs short.
  cause.stack = `${cause.name}: ${cause.message}`;
  return cause;
}
