// ACL evaluation with Vault's priority rules, and the named policy store (root and default built in).
import { parsePolicyHcl, type Capability, type PathRule } from "./hcl.js";

/** The parts of real Vault's built-in `default` policy that concern tokens looking after themselves. */
export const DEFAULT_POLICY_HCL = `# Built-in: every token may inspect, renew and revoke itself, as in real Vault.
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/lookup" { capabilities = ["update"] }
path "sys/tools/hash" { capabilities = ["update"] }
path "sys/tools/hash/*" { capabilities = ["update"] }
`;

interface CompiledRule {
  pattern: string;
  capabilities: ReadonlySet<Capability>;
  regex: RegExp;
  /** Index of the first `+` or `*`; Infinity for an exact path. */
  firstWildcard: number;
  endsWithGlob: boolean;
  plusSegments: number;
}

function compile(pattern: string, capabilities: ReadonlySet<Capability>): CompiledRule {
  const endsWithGlob = pattern.endsWith("*");
  const body = endsWithGlob ? pattern.slice(0, -1) : pattern;
  const segments = body.split("/");
  const plusSegments = segments.filter((s) => s === "+").length;
  const source = segments.map((s) => (s === "+" ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("/");
  const plusIndex = segments.includes("+") ? segments.slice(0, segments.indexOf("+")).join("/").length + (segments.indexOf("+") > 0 ? 1 : 0) : Infinity;
  const firstWildcard = Math.min(plusIndex, endsWithGlob ? pattern.length - 1 : Infinity);
  return { pattern, capabilities, regex: new RegExp(`^${source}${endsWithGlob ? "[\\s\\S]*" : ""}$`), firstWildcard, endsWithGlob, plusSegments };
}

/**
 * True when `a` has lower priority than `b`, following Vault's documented order: the later first
 * wildcard wins, then a path not ending in `*`, then fewer `+` segments, then the longer path,
 * then the lexicographically larger one.
 */
function lowerPriority(a: CompiledRule, b: CompiledRule): boolean {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard < b.firstWildcard;
  if (a.endsWithGlob !== b.endsWithGlob) return a.endsWithGlob;
  if (a.plusSegments !== b.plusSegments) return a.plusSegments > b.plusSegments;
  if (a.pattern.length !== b.pattern.length) return a.pattern.length < b.pattern.length;
  return a.pattern < b.pattern;
}

/**
 * The merged rules of a token's policies. As in Vault: rules for the same path string are unioned
 * across policies, except that `deny` on that path in any policy leaves only `deny`; a request is
 * then judged by the single highest-priority matching rule (so a more specific path overrides a
 * broader glob, in both directions). No matching rule means denied.
 */
export class Acl {
  private readonly rules: CompiledRule[];

  constructor(
    ruleSets: readonly PathRule[][],
    private readonly root = false,
  ) {
    const merged = new Map<string, Set<Capability>>();
    for (const rules of ruleSets) {
      for (const rule of rules) {
        const caps = merged.get(rule.path) ?? new Set<Capability>();
        for (const c of rule.capabilities) caps.add(c);
        merged.set(rule.path, caps);
      }
    }
    this.rules = [...merged].map(([pattern, caps]) => compile(pattern, caps.has("deny") ? new Set<Capability>(["deny"]) : caps));
  }

  /** The capabilities granted on `path` (["root"]-equivalent full set for the root policy, [] when denied). Pure. */
  capabilities(path: string): Capability[] {
    if (this.root) return ["create", "read", "update", "patch", "delete", "list", "sudo"];
    let best: CompiledRule | undefined;
    for (const rule of this.rules) {
      if (!rule.regex.test(path)) continue;
      if (!best || lowerPriority(best, rule)) best = rule;
    }
    if (!best || best.capabilities.has("deny")) return [];
    return [...best.capabilities];
  }

  allows(path: string, capability: Capability): boolean {
    return this.capabilities(path).includes(capability);
  }

  /**
   * Whether any capability is granted on `prefix` (a mount path ending in "/") or anywhere under
   * it, as Vault's hasMountAccess decides whether the UI preflight may name a mount. Approximated:
   * a rule counts when its path lies under the prefix, or when its wildcard part can reach into it;
   * Vault walks its rule trees instead. Pure.
   */
  reachesUnder(prefix: string): boolean {
    if (this.root || this.capabilities(prefix).length > 0) return true;
    return this.rules.some((r) => !r.capabilities.has("deny") && (r.pattern.startsWith(prefix) || (r.firstWildcard !== Infinity && prefix.startsWith(r.pattern.slice(0, r.firstWildcard)))));
  }
}

/** Named policies as HCL text plus their parsed rules; `root` and `default` are built in. */
export class PolicyStore {
  private readonly policies = new Map<string, { hcl: string; rules: PathRule[] }>();

  constructor() {
    this.write("default", DEFAULT_POLICY_HCL);
  }

  /** Parses and stores a policy (replacing one of the same name). Throws HclParseError; `root` cannot be written. */
  write(name: string, hcl: string): void {
    if (name === "root") throw new Error('cannot update "root" policy');
    this.policies.set(name, { hcl, rules: parsePolicyHcl(hcl) });
  }

  read(name: string): string | undefined {
    return name === "root" ? "" : this.policies.get(name)?.hcl;
  }

  delete(name: string): boolean {
    if (name === "root" || name === "default") throw new Error(`cannot delete "${name}" policy`);
    return this.policies.delete(name);
  }

  names(): string[] {
    return [...this.policies.keys(), "root"].sort();
  }

  /** The ACL of a token holding `names`; unknown names grant nothing, as in Vault. */
  acl(names: readonly string[]): Acl {
    if (names.includes("root")) return new Acl([], true);
    return new Acl(names.flatMap((n) => {
      const p = this.policies.get(n);
      return p ? [p.rules] : [];
    }));
  }
}
