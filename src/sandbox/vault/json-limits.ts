// Vault's JSON limits check (sdk jsonutil.VerifyMaxDepthStreaming), which every request body passes before routing: its verdicts and words.
import { goByteChar } from "./go-json.js";

/** The listener defaults of Vault 1.21 (http/handler.go CustomMaxJSON*). */
export const JSON_LIMITS = { maxDepth: 300, maxStringValueLength: 1024 * 1024, maxObjectEntryCount: 10000, maxArrayElementCount: 10000, maxTokens: 500000 } as const;

class LimitError extends Error {}

interface Container {
  type: "{" | "[";
  count: number;
  isKey: boolean;
  keys: Set<string>;
}

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const fail = (message: string): never => {
  throw new LimitError(message);
};

/** A cursor over the body bytes, standing in for Go's bufio.Reader. */
class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  get more(): boolean {
    return this.pos < this.buf.length;
  }
  peek(offset = 0): number | undefined {
    return this.buf[this.pos + offset];
  }
  read(): number | undefined {
    return this.buf[this.pos++];
  }
  skipSpace(): boolean {
    while (isSpace(this.peek())) this.pos++;
    return this.more;
  }
}

const ESCAPED: Record<number, string> = { 0x22: '"', 0x5c: "\\", 0x2f: "/", 0x62: "\b", 0x66: "\f", 0x6e: "\n", 0x72: "\r", 0x74: "\t" };

/** scanString: consumes a string (the opening quote included) and returns its value; counts raw bytes against the limit. */
function scanString(r: Reader): string {
  if (r.read() !== 0x22) fail("expected string");
  const bytes: number[] = [];
  let count = 0;
  let lastRune = -1;
  for (;;) {
    const b = r.read();
    if (b === undefined) fail("malformed JSON, unclosed string");
    if (b === 0x22) {
      if (lastRune >= 0xd800 && lastRune <= 0xdbff) fail("malformed JSON, unterminated surrogate pair in string");
      return Buffer.from(bytes).toString("utf8");
    }
    count++;
    lastRune = -1;
    if (b === 0x5c) {
      const e = r.read();
      if (e === undefined) fail("malformed JSON, unterminated escape sequence in string");
      count++;
      const simple = ESCAPED[e ?? 0];
      if (simple !== undefined) bytes.push(...Buffer.from(simple));
      else if (e === 0x75) {
        const hex: number[] = [];
        for (let i = 0; i < 4; i++) {
          const h = r.read();
          if (h === undefined) fail("malformed JSON, unterminated unicode escape in string");
          hex.push(h ?? 0);
        }
        count += 4;
        const bad = hex.find((h) => !/[0-9a-fA-F]/.test(String.fromCharCode(h)));
        if (bad !== undefined) fail(`invalid character '${goByteChar(bad)}' in string escape code`);
        const code = parseInt(Buffer.from(hex).toString("latin1"), 16);
        bytes.push(...Buffer.from(String.fromCharCode(code)));
        lastRune = code;
      } else fail(`invalid character '${goByteChar(e ?? 0)}' in string escape code`);
    } else bytes.push(b ?? 0);
    if (count > JSON_LIMITS.maxStringValueLength) fail("JSON string value exceeds allowed length");
  }
}

/** scanLiteral: skips to the next space, comma or closing delimiter without checking the word (Go's decoder does that later). */
function scanLiteral(r: Reader): void {
  for (let b = r.peek(); b !== undefined && !isSpace(b) && b !== 0x2c && b !== 0x7d && b !== 0x5d; b = r.peek()) r.pos++;
}

/** scanNumber: number characters up to a delimiter, then strconv.ParseFloat's verdict. */
function scanNumber(r: Reader): void {
  const first = r.peek();
  const second = r.peek(1);
  if (first === 0x30 && second !== undefined && second >= 0x30 && second <= 0x39) {
    r.pos++;
    fail(`invalid character '${goByteChar(second)}' after top-level value`);
  }
  let text = "";
  for (let b = r.peek(); b !== undefined && /[0-9.eE+-]/.test(String.fromCharCode(b)); b = r.peek()) {
    text += String.fromCharCode(b);
    r.pos++;
    if (text.length > JSON_LIMITS.maxStringValueLength) fail("JSON number value exceeds allowed length");
  }
  if (text === "") fail("malformed JSON, empty number");
  // strconv.ParseFloat: an optional sign, digits with an optional point, an optional exponent; overflow is an error too.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) || !Number.isFinite(Number(text))) fail(`malformed JSON, invalid number syntax for '${text}'`);
}

function countElement(container: Container | undefined): void {
  if (!container) return;
  if (container.type === "[") {
    if (++container.count > JSON_LIMITS.maxArrayElementCount) fail("JSON array exceeds allowed element count");
  } else container.isKey = true;
}

function walk(r: Reader): void {
  const stack: Container[] = [];
  let maxDepth = 0;
  let tokens = 0;
  let afterComma = false;
  while (r.more) {
    const b = r.peek() ?? 0;
    if (afterComma && (b === 0x7d || b === 0x5d)) fail(b === 0x7d ? "invalid character '}' after object key-value pair" : "invalid character ']' after array element");
    if (stack.length === 0 && maxDepth > 0) fail(`invalid character '${goByteChar(b)}' after top-level value`);
    if (++tokens > JSON_LIMITS.maxTokens) fail("JSON payload exceeds allowed token count");
    const top = stack[stack.length - 1];
    afterComma = false;
    if (b === 0x7b || b === 0x5b) {
      r.pos++;
      if (top?.type === "[") {
        if (++top.count > JSON_LIMITS.maxArrayElementCount) fail("JSON array exceeds allowed element count");
      } else if (top) top.isKey = true;
      maxDepth = Math.max(maxDepth, stack.length + 1);
      if (stack.length + 1 > JSON_LIMITS.maxDepth) fail("JSON input exceeds allowed nesting depth");
      stack.push({ type: b === 0x7b ? "{" : "[", count: 0, isKey: b === 0x7b, keys: new Set() });
    } else if (b === 0x7d || b === 0x5d) {
      // Go reports '}' here whichever delimiter it met.
      if (top?.type === "{" && !top.isKey) fail("invalid character '}' after object key");
      r.pos++;
      if (!top) fail(`malformed JSON: unmatched closing delimiter '${goByteChar(b)}'`);
      if ((b === 0x7d) !== (top?.type === "{")) fail(`malformed JSON: mismatched closing delimiter '${goByteChar(b)}'`);
      stack.pop();
      const parent = stack[stack.length - 1];
      if (parent?.type === "{") parent.isKey = true;
    } else if (b === 0x22) {
      const value = scanString(r);
      if (!top) maxDepth = Math.max(maxDepth, 1);
      else if (top.type === "{" && top.isKey) {
        if (top.keys.has(value)) fail(`duplicate key '${value}' in object`);
        top.keys.add(value);
        if (++top.count > JSON_LIMITS.maxObjectEntryCount) fail("JSON object exceeds allowed entry count");
        top.isKey = false;
      } else countElement(top);
    } else if (b === 0x74 || b === 0x66 || b === 0x6e) {
      scanLiteral(r);
      if (!top) maxDepth = Math.max(maxDepth, 1);
      countElement(top);
    } else if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
      scanNumber(r);
      if (!top) maxDepth = Math.max(maxDepth, 1);
      countElement(top);
    } else if (b === 0x2c) {
      r.pos++;
      afterComma = true;
      if (top?.type === "{") top.isKey = true;
    } else if (b === 0x3a) r.pos++;
    else fail(`invalid character '${goByteChar(b)}' looking for beginning of value`);
    if (!r.skipSpace()) break;
  }
  if (stack.length > 0) fail("malformed JSON, unclosed containers");
}

/**
 * Checks a request body as Vault's wrapJSONLimitsHandler does before any routing: a body that is
 * empty, all space, or does not start with `{` or `[` (after an optional UTF-8 BOM and spaces)
 * passes unchecked; otherwise the structure is walked and the first problem returned in Vault's
 * words (Vault answers it 500). This is not a full JSON parser: like Vault's, it lets through some
 * bodies Go's decoder refuses later (a missing colon, a misspelt `true`). Returns undefined when
 * the body passes. Pure.
 */
export function checkJsonLimits(raw: Buffer): string | undefined {
  const r = new Reader(raw);
  if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) r.pos = 3;
  if (!r.skipSpace()) return undefined;
  const first = r.peek();
  if (first !== 0x7b && first !== 0x5b) return undefined;
  try {
    walk(r);
    return undefined;
  } catch (err) {
    if (err instanceof LimitError) return err.message;
    throw err;
  }
}
