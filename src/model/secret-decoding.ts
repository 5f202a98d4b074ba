// Decoders for secret payload values (base64, UTF-8, YAML) whose errors name the key and never the content.
import { parse as parseYaml } from "yaml";
import { ValidationError } from "./errors.js";
import { isObject, type JsonObject } from "./fields.js";

/** Every failure of a secret payload carries this reason. */
export function malformed(field: string, problem: string): never {
  throw new ValidationError("SecretMalformed", field, problem);
}

// Kubernetes serialises `data` with standard, padded base64; anything else is a hand-made mistake.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes one base64 value of a Kubernetes Secret's `data` to UTF-8 text. Pure. Throws
 * SecretMalformed naming `field` when the value is not a string, not base64 or not UTF-8.
 */
export function decodeBase64Text(value: unknown, field: string): string {
  if (typeof value !== "string") malformed(field, "must be a base64 string");
  if (!BASE64.test(value)) malformed(field, "is not valid base64");
  const bytes = Buffer.from(value, "base64");
  try {
    // A fresh decoder per call: `fatal` decoders keep no state between calls, but this keeps it obvious.
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // The decoder's error is dropped on purpose: nothing about the bytes may reach a message.
    return malformed(field, "is not valid UTF-8");
  }
}

/**
 * Parses YAML text that must hold a mapping. The yaml package quotes the offending source in
 * its messages, so its error is neither rendered nor attached as `cause` (loggers print causes).
 */
export function parseYamlMapping(text: string, field: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { prettyErrors: false, maxAliasCount: 50 });
  } catch {
    return malformed(field, "is not parseable YAML");
  }
  if (!isObject(parsed)) malformed(field, "must hold a YAML mapping");
  return parsed;
}

/** Values that must be one line (keys, ids, tokens): whitespace inside is a copy-paste mistake. */
export type ValueShape = "line" | "pem";

/**
 * Checks one credential value and returns it without surrounding whitespace (a trailing
 * newline from `echo | base64` is the most common mistake and is harmless to drop).
 */
export function credentialValue(value: unknown, field: string, shape: ValueShape = "line"): string {
  if (value === undefined || value === null) malformed(field, "is missing");
  if (typeof value !== "string") malformed(field, "must be a string");
  const trimmed = value.trim();
  if (trimmed === "") malformed(field, "is empty");
  if (shape === "line" && /\s/.test(trimmed)) malformed(field, "must be a single token without whitespace or line breaks");
  return trimmed;
}

/** Like credentialValue, but absent or empty is allowed and gives undefined. */
export function optionalCredentialValue(value: unknown, field: string, shape: ValueShape = "line"): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" && value.trim() === "") return undefined;
  return credentialValue(value, field, shape);
}
