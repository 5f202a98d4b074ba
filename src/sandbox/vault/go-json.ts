// What Go's encoding/json Decoder answers when Vault decodes a request body into a map: its syntax and type errors, word for word.

/** Go's `%c` of one byte: the rune with that code point (Latin-1 for bytes ≥ 0x80). */
export function goByteChar(c: number): string {
  return String.fromCharCode(c);
}

const ESCAPES: Record<number, string> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 0x5c: "\\\\" };

/** encoding/json's quoteChar: strconv.Quote of the byte's rune, in single quotes. */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  const escaped = ESCAPES[c];
  if (escaped !== undefined) return `'${escaped}'`;
  const hex = c.toString(16).padStart(2, "0");
  if (c < 0x20 || c === 0x7f) return `'\\x${hex}'`;
  // strconv.IsPrint is false for the C1 controls, NO-BREAK SPACE and SOFT HYPHEN.
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) return `'\\u00${hex}'`;
  return `'${goByteChar(c)}'`;
}

type Frame = "objectKey" | "objectValue" | "arrayValue";
type State =
  | "beginValue"
  | "beginValueOrEmpty"
  | "beginStringOrEmpty"
  | "beginString"
  | "endValue"
  | "inString"
  | "inStringEsc"
  | "hex"
  | "neg"
  | "int"
  | "zero"
  | "dot"
  | "frac"
  | "exp"
  | "expSign"
  | "expDigits"
  | "literal";

class GoSyntaxError extends Error {}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
const LITERALS: Record<number, string> = { 0x74: "true", 0x66: "false", 0x6e: "null" };

/**
 * The state machine of Go's encoding/json/scanner.go, as far as it decides between "a complete
 * value", "need more bytes" and "this byte is wrong (and Go's words for why)".
 */
class Scanner {
  private state: State = "beginValue";
  private readonly stack: Frame[] = [];
  private literal = "";
  private literalPos = 0;
  private hexLeft = 0;
  /** Set once the top-level value is complete; "with" when the byte that completed it belongs to it (a closing brace). */
  done: "with" | "before" | undefined;

  private fail(c: number, context: string): never {
    throw new GoSyntaxError(`invalid character ${quoteChar(c)} ${context}`);
  }

  private pop(): void {
    this.stack.pop();
    if (this.stack.length === 0) this.done = "with";
    else this.state = "endValue";
  }

  private beginValue(c: number): void {
    if (isSpace(c)) return;
    const literal = LITERALS[c];
    if (literal !== undefined) {
      this.literal = literal;
      this.literalPos = 1;
      this.state = "literal";
    } else if (c === 0x7b) {
      this.stack.push("objectKey");
      this.state = "beginStringOrEmpty";
    } else if (c === 0x5b) {
      this.stack.push("arrayValue");
      this.state = "beginValueOrEmpty";
    } else if (c === 0x22) this.state = "inString";
    else if (c === 0x2d) this.state = "neg";
    else if (c === 0x30) this.state = "zero";
    else if (c >= 0x31 && c <= 0x39) this.state = "int";
    else this.fail(c, "looking for beginning of value");
  }

  private endValue(c: number): void {
    const top = this.stack.length - 1;
    const frame = this.stack[top];
    // A top-level scalar ends at the first byte after it; Go stops reading there, whatever it is.
    if (frame === undefined) return void (this.done = "before");
    this.state = "endValue";
    if (isSpace(c)) return;
    if (frame === "objectKey") {
      if (c !== 0x3a) this.fail(c, "after object key");
      this.stack[top] = "objectValue";
      this.state = "beginValue";
    } else if (frame === "objectValue") {
      if (c === 0x2c) {
        this.stack[top] = "objectKey";
        this.state = "beginString";
      } else if (c === 0x7d) this.pop();
      else this.fail(c, "after object key:value pair");
    } else if (c === 0x2c) this.state = "beginValue";
    else if (c === 0x5d) this.pop();
    else this.fail(c, "after array element");
  }

  private afterInteger(c: number): void {
    if (c === 0x2e) this.state = "dot";
    else if (c === 0x65 || c === 0x45) this.state = "exp";
    else this.endValue(c);
  }

  /** Feeds one byte. Throws GoSyntaxError with Go's message on the first byte Go refuses. */
  step(c: number): void {
    switch (this.state) {
      case "beginValue":
        return this.beginValue(c);
      case "beginValueOrEmpty":
        if (isSpace(c)) return;
        return c === 0x5d ? this.endValue(c) : this.beginValue(c);
      case "beginStringOrEmpty":
        if (isSpace(c)) return;
        if (c === 0x7d) {
          this.stack[this.stack.length - 1] = "objectValue";
          return this.endValue(c);
        }
        this.state = "beginString";
        return this.step(c);
      case "beginString":
        if (isSpace(c)) return;
        if (c !== 0x22) this.fail(c, "looking for beginning of object key string");
        this.state = "inString";
        return;
      case "endValue":
        return this.endValue(c);
      case "inString":
        if (c === 0x22) this.state = "endValue";
        else if (c === 0x5c) this.state = "inStringEsc";
        else if (c < 0x20) this.fail(c, "in string literal");
        return;
      case "inStringEsc":
        if (c === 0x75) {
          this.state = "hex";
          this.hexLeft = 4;
        } else if ([0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22].includes(c)) this.state = "inString";
        else this.fail(c, "in string escape code");
        return;
      case "hex":
        if (!isHex(c)) this.fail(c, "in \\u hexadecimal character escape");
        if (--this.hexLeft === 0) this.state = "inString";
        return;
      case "neg":
        if (c === 0x30) this.state = "zero";
        else if (c >= 0x31 && c <= 0x39) this.state = "int";
        else this.fail(c, "in numeric literal");
        return;
      case "int":
        return isDigit(c) ? undefined : this.afterInteger(c);
      case "zero":
        return this.afterInteger(c);
      case "dot":
        if (!isDigit(c)) this.fail(c, "after decimal point in numeric literal");
        this.state = "frac";
        return;
      case "frac":
        if (isDigit(c)) return;
        if (c === 0x65 || c === 0x45) this.state = "exp";
        else this.endValue(c);
        return;
      case "exp":
      case "expSign":
        if (this.state === "exp" && (c === 0x2b || c === 0x2d)) return void (this.state = "expSign");
        if (!isDigit(c)) this.fail(c, "in exponent of numeric literal");
        this.state = "expDigits";
        return;
      case "expDigits":
        return isDigit(c) ? undefined : this.endValue(c);
      case "literal": {
        const want = this.literal.charCodeAt(this.literalPos);
        if (c !== want) this.fail(c, `in literal ${this.literal} (expecting '${this.literal[this.literalPos] ?? ""}')`);
        if (++this.literalPos === this.literal.length) this.state = "endValue";
        return;
      }
    }
  }
}

/** The JSON type name Go's UnmarshalTypeError gives a top-level value starting with `c`. */
function goTypeName(c: number): string {
  if (c === 0x5b) return "array";
  if (c === 0x22) return "string";
  if (c === 0x74 || c === 0x66) return "bool";
  return "number";
}

export type GoDecodeResult = { ok: true; value: Record<string, unknown> | null } | { ok: false; message: string };

/**
 * Decodes `raw` as `json.NewDecoder(body).Decode(&map[string]interface{})` does: only the first
 * JSON value is read (bytes after it are never looked at), a syntax error is Go's "invalid
 * character … " text, an incomplete value is "unexpected EOF", a value that is not an object is
 * "json: cannot unmarshal array into Go value of type map[string]interface {}", and `null` is a nil
 * map. The caller handles an empty or all-space body (Vault's io.EOF: no data). Pure.
 */
export function goDecodeMap(raw: Buffer): GoDecodeResult {
  const scanner = new Scanner();
  let end = raw.length;
  try {
    for (let i = 0; i < raw.length && scanner.done === undefined; i++) {
      scanner.step(raw[i] ?? 0);
      if (scanner.done !== undefined) end = scanner.done === "with" ? i + 1 : i;
    }
  } catch (err) {
    if (err instanceof GoSyntaxError) return { ok: false, message: err.message };
    throw err;
  }
  if (scanner.done === undefined && !completesAtEof(scanner)) return { ok: false, message: "unexpected EOF" };
  const text = raw.subarray(0, end).toString("utf8").trim();
  const first = text.charCodeAt(0);
  if (first === 0x6e) return { ok: true, value: null };
  if (first !== 0x7b) return { ok: false, message: `json: cannot unmarshal ${goTypeName(first)} into Go value of type map[string]interface {}` };
  return { ok: true, value: JSON.parse(text) as Record<string, unknown> };
}

/** At EOF the Decoder feeds one space: that completes a number or literal just read; anything else is "unexpected EOF". */
function completesAtEof(scanner: Scanner): boolean {
  try {
    scanner.step(0x20);
  } catch (err) {
    if (err instanceof GoSyntaxError) return false;
    throw err;
  }
  return scanner.done !== undefined;
}
