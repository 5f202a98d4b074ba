// Decoders for secret payload values (base64, UTF-8, YAML) whose errors name the key and never the content.
import { parseDocument } from "yaml";
import { ValidationError } from "./errors.js";
import { isObject, type JsonObject } from "./fields.js";
import { codePointLabel } from "./text.js";

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
    // ignoreBOM keeps a leading BOM in the text: Gloo reads the bytes as they are, so it must be judged.
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
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
  // parseDocument, not parse: parse emits the document's warnings as process warnings, which
  // quote the source ("Unresolved tag: !<text>") to stderr. Warnings are dropped; errors fail.
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { prettyErrors: false });
  } catch {
    return malformed(field, "is not parseable YAML");
  }
  if (doc.errors.length > 0) malformed(field, "is not parseable YAML");
  let parsed: unknown;
  try {
    parsed = doc.toJS({ maxAliasCount: 50 });
  } catch {
    // An alias bomb ends here (yaml throws once the alias count passes the cap).
    return malformed(field, "is not parseable YAML");
  }
  if (!isObject(parsed)) malformed(field, "must hold a YAML mapping");
  return parsed;
}

/**
 * `line`: a key, id or token, used byte for byte. `pem`: a PEM bundle, whose line breaks are part of
 * the format and which a PEM reader parses structurally.
 */
export type ValueShape = "line" | "pem";

// Everything that is not a visible character: controls, invisible format characters (ZWSP, ZWJ,
// BOM, soft hyphen), every space and separator, and unpaired surrogates a JSON payload can carry.
const ODD = /[\p{Cc}\p{Cf}\p{Z}\p{Cs}]/u;
const ODD_AT_START = /^[\p{Cc}\p{Cf}\p{Z}\p{Cs}]/u;
const ODD_AT_END = /[\p{Cc}\p{Cf}\p{Z}\p{Cs}]$/u;
const ONLY_ODD = /^[\p{Cc}\p{Cf}\p{Z}\p{Cs}]+$/u;
// Inside a PEM bundle, the whitespace RFC 7468 allows around and between its lines.
const PEM_ODD = /(?![\t\n\r ])[\p{Cc}\p{Cf}\p{Z}\p{Cs}]/u;

const NAMED: Readonly<Record<string, string>> = {
  "\n": "a newline",
  "\r": "a carriage return",
  "\t": "a tab",
  " ": "a space",
  "\u00A0": "a no-break space (U+00A0)",
  "\u2028": "a line separator (U+2028)",
  "\u2029": "a paragraph separator (U+2029)",
};

/** The character in words, with its code point where it cannot be seen: "a newline", "an invisible character (U+200B)". */
function characterName(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const label = codePointLabel(ch);
  if (/\p{Cc}/u.test(ch)) return `a control character (${label})`;
  if (/\p{Cf}/u.test(ch)) return `an invisible character (${label})`;
  if (/\p{Cs}/u.test(ch)) return `an unpaired surrogate (${label})`;
  return `a space character (${label})`;
}

// The last character as a whole, so an astral code point is named by its code point, not a surrogate.
function lastCharacter(value: string): string {
  return Array.from(value.slice(-2)).at(-1) ?? "";
}

/**
 * What is wrong with `value` when a gateway uses it byte for byte, in words and without the value
 * ("ends with a newline", "contains an invisible character (U+200B)"), or undefined when nothing
 * is. Pure. A PEM bundle may have ASCII whitespace anywhere, including before its first and after
 * its last boundary: RFC 7468 allows it, every PEM reader skips it, and `kubectl create secret
 * --from-file` of a PEM file always carries the file's final newline. Anything else odd in one
 * (NBSP, ZWSP, a control character) is a corrupted paste and is reported wherever it is.
 */
export function valueProblem(value: string, shape: ValueShape): string | undefined {
  if (value === "") return "is empty";
  if (shape === "pem") {
    const odd = PEM_ODD.exec(value);
    return odd === null ? undefined : `contains ${characterName(odd[0])}`;
  }
  if (ONLY_ODD.test(value)) return "is blank: it holds only whitespace or invisible characters";
  const edges: string[] = [];
  const first = ODD_AT_START.exec(value);
  if (first !== null) edges.push(`begins with ${characterName(String.fromCodePoint(value.codePointAt(0) ?? 0))}`);
  if (ODD_AT_END.test(value)) {
    const last = lastCharacter(value);
    edges.push(value.endsWith("\r\n") ? "ends with a Windows line break (CRLF)" : `ends with ${characterName(last)}`);
  }
  if (edges.length > 0) return edges.join(" and ");
  const inner = ODD.exec(value);
  return inner === null ? undefined : `contains ${characterName(String.fromCodePoint(inner[0].codePointAt(0) ?? 0))}`;
}

/**
 * Checks one credential value and returns it exactly as stored. Gloo hands the stored bytes to the
 * gateway untrimmed, so a value with a trailing newline (`echo | base64`, `--from-file`) signs
 * differently from what a trimmed verification would accept: such a value is SecretMalformed,
 * never quietly repaired. Throws ValidationError(SecretMalformed) naming `field` and the problem.
 */
export function credentialValue(value: unknown, field: string, shape: ValueShape = "line"): string {
  if (value === undefined || value === null) malformed(field, "is missing");
  if (typeof value !== "string") malformed(field, "must be a string");
  const problem = valueProblem(value, shape);
  if (problem !== undefined) malformed(field, problem);
  return value;
}

/** Like credentialValue, but absent or "" is allowed and gives undefined; whitespace alone is not absent. */
export function optionalCredentialValue(value: unknown, field: string, shape: ValueShape = "line"): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  return credentialValue(value, field, shape);
}
