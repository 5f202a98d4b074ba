// Kubernetes label selectors (`app=web,tier notin (db)`) parsed from untrusted text and matched against labels.
import { ValidationError } from "./errors.js";
import { echoName } from "./text.js";

/** Bounds against hostile input; a real selector is far smaller. */
export const MAX_LABEL_SELECTOR_BYTES = 1024;
export const MAX_LABEL_SELECTOR_REQUIREMENTS = 32;
export const MAX_LABEL_SELECTOR_SET_VALUES = 32;

const FIELD = "labelSelector";

/**
 * One requirement, in the operators of the API's `matchExpressions`: `k=v` and `k==v` are In with
 * one value, `k!=v` is NotIn with one value, as Kubernetes itself converts them.
 */
export type LabelRequirement =
  | { readonly key: string; readonly operator: "In" | "NotIn"; readonly values: readonly string[] }
  | { readonly key: string; readonly operator: "Exists" | "DoesNotExist" };

/** Every requirement must hold; no requirement selects everything. */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
}

type TokenKind = "word" | "(" | ")" | "," | "!" | "=" | "==" | "!=" | ">" | "<" | "end";

interface Token {
  readonly kind: TokenKind;
  /** The text as written (empty for "end"). `in` and `notin` are words: they are keys or values by position. */
  readonly text: string;
  /** Index of the token's first UTF-16 unit in the selector. */
  readonly start: number;
}

// Kubernetes' lexer: exactly these four are whitespace (any other space is part of a word and fails validation).
const isSpace = (ch: string): boolean => ch === " " || ch === "\t" || ch === "\r" || ch === "\n";
const isSymbol = (ch: string): boolean => "=!(),<>".includes(ch);
const isLowerAlnum = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
const isAlnum = (c: number): boolean => isLowerAlnum(c) || (c >= 0x41 && c <= 0x5a);

/** One pass over the text; two-character symbols (`==`, `!=`) taken greedily, as Kubernetes does. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (isSpace(ch)) {
      i++;
    } else if (isSymbol(ch)) {
      const pair = text.slice(i, i + 2);
      const kind: TokenKind = pair === "==" || pair === "!=" ? pair : (ch as TokenKind);
      tokens.push({ kind, text: kind, start: i });
      i += kind.length;
    } else {
      const start = i;
      while (i < text.length && !isSpace(text.charAt(i)) && !isSymbol(text.charAt(i))) i++;
      tokens.push({ kind: "word", text: text.slice(start, i), start });
    }
  }
  tokens.push({ kind: "end", text: "", start: text.length });
  return tokens;
}

/** Non-empty, first and last unit `alnum`, the others `alnum` or one of `extra`: a char loop, so no regex can backtrack. */
function isNamePart(value: string, alnum: (c: number) => boolean, extra: string): boolean {
  if (value === "" || !alnum(value.charCodeAt(0)) || !alnum(value.charCodeAt(value.length - 1))) return false;
  for (let i = 1; i < value.length - 1; i++) {
    if (!alnum(value.charCodeAt(i)) && !extra.includes(value.charAt(i))) return false;
  }
  return true;
}

const NAME_RULE = "alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character";

/** Why `key` is not a qualified name (optional DNS subdomain prefix and '/', then a name), or undefined. */
function keyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  let name = key;
  if (slash !== -1) {
    if (key.includes("/", slash + 1)) return "a key has at most one '/', between an optional DNS subdomain prefix and the name (e.g. 'example.com/MyName')";
    const prefix = key.slice(0, slash);
    name = key.slice(slash + 1);
    if (prefix === "") return "the prefix before '/' must not be empty";
    if (prefix.length > 253) return "the prefix before '/' must be at most 253 characters";
    if (!prefix.split(".").every((label) => isNamePart(label, isLowerAlnum, "-"))) {
      return "the prefix before '/' must be a DNS subdomain: lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit";
    }
  }
  if (name === "") return "the name must not be empty";
  if (name.length > 63) return "the name must be at most 63 characters";
  if (!isNamePart(name, isAlnum, "-_.")) return `the name must consist of ${NAME_RULE}`;
  return undefined;
}

/** Why `value` is not a label value (empty, or at most 63 name characters), or undefined. */
function valueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63) return "it must be at most 63 characters";
  if (!isNamePart(value, isAlnum, "-_.")) return `it must be empty or consist of ${NAME_RULE}`;
  return undefined;
}

/** Recursive descent over the tokens, following k8s.io/apimachinery/pkg/labels/selector.go. */
class Parser {
  private position = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {}

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    if (this.peek().kind === "end") return requirements;
    for (;;) {
      const first = this.peek();
      if (first.kind !== "word" && first.kind !== "!") this.unexpected(first, requirements.length === 0 ? "a label key or '!'" : "a label key or '!' after ','");
      if (requirements.length === MAX_LABEL_SELECTOR_REQUIREMENTS) {
        this.fail(`has more than ${MAX_LABEL_SELECTOR_REQUIREMENTS} requirements (the next one starts ${this.at(first)})`);
      }
      requirements.push(this.requirement());
      const next = this.next();
      if (next.kind === "end") return requirements;
      if (next.kind !== ",") this.unexpected(next, "',' or the end of the selector");
    }
  }

  private requirement(): LabelRequirement {
    let token = this.next();
    const negated = token.kind === "!";
    if (negated) token = this.next();
    if (token.kind !== "word") this.unexpected(token, "a label key");
    const key = token.text;
    const problem = keyProblem(key);
    if (problem !== undefined) this.fail(`key "${echoName(key)}" ${this.at(token)} is not a valid label key: ${problem}`);
    const after = this.peek();
    if (after.kind === "end" || after.kind === ",") return { key, operator: negated ? "DoesNotExist" : "Exists" };
    if (negated) this.unexpected(after, "',' or the end of the selector ('!key' takes no operator)");
    const op = this.next();
    if (op.kind === "word" && (op.text === "in" || op.text === "notin")) {
      return { key, operator: op.text === "in" ? "In" : "NotIn", values: this.valueSet(key) };
    }
    if (op.kind === "=" || op.kind === "==" || op.kind === "!=") {
      return { key, operator: op.kind === "!=" ? "NotIn" : "In", values: [this.exactValue(key)] };
    }
    if (op.kind === ">" || op.kind === "<") {
      this.fail(`operator "${op.text}" ${this.at(op)} is not supported; use =, ==, !=, in, notin, a bare key or !key`);
    }
    return this.unexpected(op, "an operator (=, ==, !=, in, notin), ',' or the end of the selector");
  }

  private exactValue(key: string): string {
    const token = this.peek();
    if (token.kind === "end" || token.kind === ",") return "";
    this.position++;
    if (token.kind !== "word") this.unexpected(token, `a value for key "${echoName(key)}"`);
    return this.checkedValue(token, key);
  }

  /** `( v, v, ... )`: an empty slot (`()`, `(a,)`, `(a,,b)`) is the empty value, as in Kubernetes. */
  private valueSet(key: string): string[] {
    const open = this.next();
    if (open.kind !== "(") this.unexpected(open, "'('");
    const values = new Set<string>();
    let slots = 0;
    const add = (value: string, token: Token): void => {
      if (++slots > MAX_LABEL_SELECTOR_SET_VALUES) {
        this.fail(`the set for key "${echoName(key)}" has more than ${MAX_LABEL_SELECTOR_SET_VALUES} values (the next one ${this.at(token)})`);
      }
      values.add(value);
    };
    for (;;) {
      const token = this.next();
      if (token.kind === ")") {
        add("", token);
        return [...values];
      }
      if (token.kind === ",") {
        add("", token);
        continue;
      }
      if (token.kind !== "word") this.unexpected(token, "a value, ',' or ')'");
      add(this.checkedValue(token, key), token);
      const after = this.next();
      if (after.kind === ")") return [...values];
      if (after.kind !== ",") this.unexpected(after, "',' or ')'");
    }
  }

  private checkedValue(token: Token, key: string): string {
    const problem = valueProblem(token.text);
    if (problem !== undefined) {
      this.fail(`value "${echoName(token.text)}" for key "${echoName(key)}" ${this.at(token)} is not a valid label value: ${problem}`);
    }
    return token.text;
  }

  private peek(): Token {
    // The last token is "end" and is never consumed past, so the index stays in range.
    return this.tokens[Math.min(this.position, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.position++;
    return token;
  }

  /** "at character 7": 1-based, counted in code points so a message matches what an editor shows. */
  private at(token: Token): string {
    return `at character ${[...this.text.slice(0, token.start)].length + 1}`;
  }

  private unexpected(token: Token, expected: string): never {
    const found = token.kind === "end" ? "end of the selector" : `"${echoName(token.text)}"`;
    return this.fail(`unexpected ${found} ${this.at(token)}; expected ${expected}`);
  }

  private fail(problem: string): never {
    throw new ValidationError("InvalidSpec", FIELD, problem);
  }
}

/**
 * Parses Kubernetes label selector syntax: comma-separated `k=v`, `k==v`, `k!=v`, `k`, `!k`,
 * `k in (a,b)`, `k notin (a,b)`; `>` and `<` are refused. Keys are qualified names, values label
 * values (or empty). Empty or blank text selects everything. Pure and linear in the input, which
 * is capped at MAX_LABEL_SELECTOR_BYTES, MAX_LABEL_SELECTOR_REQUIREMENTS and
 * MAX_LABEL_SELECTOR_SET_VALUES. Throws ValidationError (field "labelSelector", reason
 * InvalidSpec) whose message says what is wrong and at which character.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_LABEL_SELECTOR_BYTES) {
    throw new ValidationError("InvalidSpec", FIELD, `must be at most ${MAX_LABEL_SELECTOR_BYTES} bytes (it has ${bytes})`);
  }
  return { requirements: new Parser(text, tokenize(text)).parse() };
}

/**
 * Whether `labels` satisfy every requirement. As in Kubernetes, NotIn (and so `!=`) holds for
 * objects lacking the key. Only own properties count: a `constructor` label is just a key. Pure.
 */
export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.requirements.every((req) => {
    const value = Object.hasOwn(labels, req.key) ? labels[req.key] : undefined;
    switch (req.operator) {
      case "Exists":
        return value !== undefined;
      case "DoesNotExist":
        return value === undefined;
      case "In":
        return value !== undefined && req.values.includes(value);
      case "NotIn":
        return value === undefined || !req.values.includes(value);
      default: {
        const unreachable: never = req;
        return unreachable;
      }
    }
  });
}
