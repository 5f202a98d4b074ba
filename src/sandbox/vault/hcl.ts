// A small HCL reader covering what Vault ACL policies use: `path "..." { capabilities = [...] }` blocks and comments.

export const CAPABILITIES = ["create", "read", "update", "patch", "delete", "list", "sudo", "deny"] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** One `path` block of a policy, with its capabilities as written (legacy `policy = "read"` expanded). */
export interface PathRule {
  path: string;
  capabilities: Capability[];
}

/**
 * The text is not a policy this reader understands; `line` is 1-based. `vaultText`, when set, is
 * what real Vault says of the same problem (vault/policy.go parsePaths), for the emulator's answer.
 */
export class HclParseError extends Error {
  constructor(
    readonly line: number,
    problem: string,
    readonly vaultText?: string,
  ) {
    super(`policy line ${line}: ${problem}`);
    this.name = "HclParseError";
  }
}

type TokenKind = "string" | "ident" | "number" | "punct";
interface Token {
  kind: TokenKind;
  value: string;
  line: number;
}

type HclValue = string | number | boolean | HclValue[] | { [key: string]: HclValue };
type BodyItem = { kind: "attr"; name: string; value: HclValue; line: number } | { kind: "block"; type: string; labels: string[]; body: BodyItem[]; line: number };

// Vault's legacy `policy = "..."` shorthand, expanded the way Vault expands it.
const LEGACY_POLICY: Record<string, Capability[]> = {
  deny: ["deny"],
  read: ["read", "list"],
  write: ["create", "read", "update", "delete", "list"],
  sudo: ["create", "read", "update", "delete", "list", "sudo"],
};

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? "";
    if (c === "\n") {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === "#" || (c === "/" && text[i + 1] === "/")) {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new HclParseError(line, "unterminated comment");
      for (let j = i; j < end; j++) if (text[j] === "\n") line++;
      i = end + 2;
    } else if (c === '"') {
      let value = "";
      i++;
      for (;;) {
        const d = text[i];
        if (d === undefined || d === "\n") throw new HclParseError(line, "unterminated string");
        i++;
        if (d === '"') break;
        if (d === "\\") {
          const e = text[i++];
          value += e === "n" ? "\n" : e === "t" ? "\t" : (e ?? "");
        } else value += d;
      }
      tokens.push({ kind: "string", value, line });
    } else if ("{}[]=,:".includes(c)) {
      tokens.push({ kind: "punct", value: c, line });
      i++;
    } else {
      const match = /^(?:-?\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_.-]*)/.exec(text.slice(i));
      if (!match) throw new HclParseError(line, `unexpected character ${JSON.stringify(c)}`);
      tokens.push({ kind: /^-?\d/.test(match[0]) ? "number" : "ident", value: match[0], line });
      i += match[0].length;
    }
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  private lastLine(): number {
    return this.tokens[this.tokens.length - 1]?.line ?? 1;
  }

  private expect(value: string): Token {
    const t = this.tokens[this.pos];
    if (!t || t.kind !== "punct" || t.value !== value) throw new HclParseError(t?.line ?? this.lastLine(), `expected "${value}"`);
    this.pos++;
    return t;
  }

  body(closing: boolean): BodyItem[] {
    const items: BodyItem[] = [];
    for (;;) {
      const t = this.peek();
      if (!t) {
        if (closing) throw new HclParseError(this.lastLine(), 'expected "}"');
        return items;
      }
      if (t.kind === "punct" && t.value === "}" && closing) {
        this.pos++;
        return items;
      }
      if (t.kind === "punct" && t.value === ",") {
        // Object literals (`{ "a" = [], "b" = [] }`) separate their entries with commas.
        this.pos++;
        continue;
      }
      if (t.kind !== "ident" && t.kind !== "string") throw new HclParseError(t.line, `unexpected "${t.value}"`);
      this.pos++;
      const next = this.peek();
      if (next?.kind === "punct" && (next.value === "=" || next.value === ":")) {
        this.pos++;
        items.push({ kind: "attr", name: t.value, value: this.value(), line: t.line });
        continue;
      }
      const labels: string[] = [];
      while (this.peek()?.kind === "string") labels.push(this.tokens[this.pos++]?.value ?? "");
      this.expect("{");
      items.push({ kind: "block", type: t.value, labels, body: this.body(true), line: t.line });
    }
  }

  private value(): HclValue {
    const t = this.peek();
    if (!t) throw new HclParseError(this.lastLine(), "expected a value");
    this.pos++;
    if (t.kind === "string") return t.value;
    if (t.kind === "number") return Number(t.value);
    if (t.kind === "ident") {
      if (t.value === "true" || t.value === "false") return t.value === "true";
      throw new HclParseError(t.line, `unexpected "${t.value}"`);
    }
    if (t.value === "[") {
      const list: HclValue[] = [];
      for (;;) {
        const n = this.peek();
        if (n?.kind === "punct" && n.value === "]") {
          this.pos++;
          return list;
        }
        list.push(this.value());
        const sep = this.peek();
        if (sep?.kind === "punct" && sep.value === ",") this.pos++;
        else if (!(sep?.kind === "punct" && sep.value === "]")) throw new HclParseError(sep?.line ?? t.line, 'expected "," or "]"');
      }
    }
    if (t.value === "{") {
      const object: { [key: string]: HclValue } = {};
      for (const item of this.body(true)) {
        if (item.kind === "attr") object[item.name] = item.value;
      }
      return object;
    }
    throw new HclParseError(t.line, `unexpected "${t.value}"`);
  }
}

function isCapability(value: unknown): value is Capability {
  return typeof value === "string" && (CAPABILITIES as readonly string[]).includes(value);
}

function ruleFromBlock(block: Extract<BodyItem, { kind: "block" }>): PathRule {
  const [label, ...extra] = block.labels;
  if (label === undefined || extra.length > 0) throw new HclParseError(block.line, "a path block takes exactly one quoted path");
  const capabilities: Capability[] = [];
  for (const item of block.body) {
    if (item.kind !== "attr") continue;
    if (item.name === "capabilities") {
      if (!Array.isArray(item.value)) throw new HclParseError(item.line, "capabilities must be a list of strings");
      for (const cap of item.value) {
        if (!isCapability(cap)) throw new HclParseError(item.line, `invalid capability ${JSON.stringify(cap)}`, `path ${JSON.stringify(label)}: invalid capability ${JSON.stringify(cap)}`);
        capabilities.push(cap);
      }
    } else if (item.name === "policy") {
      const expanded = typeof item.value === "string" ? LEGACY_POLICY[item.value] : undefined;
      if (!expanded) throw new HclParseError(item.line, `invalid policy ${JSON.stringify(item.value)}`, typeof item.value === "string" ? `path ${JSON.stringify(label)}: invalid policy ${JSON.stringify(item.value)}` : undefined);
      capabilities.push(...expanded);
    }
    // allowed_parameters, denied_parameters, min/max_wrapping_ttl: parsed, not enforced by the emulator.
  }
  return { path: label.replace(/^\/+/, ""), capabilities: [...new Set(capabilities)] };
}

/** Parses policy HCL into its path rules, in file order. Pure; throws HclParseError naming the line. */
export function parsePolicyHcl(text: string): PathRule[] {
  const rules: PathRule[] = [];
  for (const item of new Parser(tokenize(text)).body(false)) {
    if (item.kind === "block" && item.type === "path") rules.push(ruleFromBlock(item));
    else if (item.kind === "attr" && item.name === "name") continue;
    else throw new HclParseError(item.line, `unsupported top-level ${item.kind === "block" ? `block "${item.type}"` : `key "${item.name}"`}`);
  }
  return rules;
}
