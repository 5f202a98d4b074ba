// Vault tokens with TTLs measured on an injectable clock: issue, look up, renew within max TTL, revoke.
import { randomBytes } from "node:crypto";
import { formatGoDuration } from "./durations.js";

/** Vault's system-wide default and maximum lease TTL (32 days). */
export const SYSTEM_MAX_TTL_SECONDS = 768 * 3600;

export interface TokenEntry {
  id: string;
  accessor: string;
  policies: string[];
  meta: Record<string, string>;
  displayName: string;
  /** The login or create path that issued it, e.g. `auth/kubernetes/login`. */
  path: string;
  createdMs: number;
  /** TTL the token was issued with, in seconds (0 for root: never expires). */
  creationTtlSeconds: number;
  expiresAtMs: number | null;
  /** Renewal never extends beyond this instant (null: no limit, root only). */
  maxExpiresAtMs: number | null;
  explicitMaxTtlSeconds: number;
  renewable: boolean;
  orphan: boolean;
  /** Renewal increment used when the caller gives none (the role's TTL), in seconds. */
  defaultIncrementSeconds: number;
}

export interface IssueOptions {
  policies: string[];
  ttlSeconds: number;
  /** Cap on the token's whole life, in seconds (0: the system maximum). */
  maxTtlSeconds?: number;
  explicitMaxTtlSeconds?: number;
  renewable?: boolean;
  meta?: Record<string, string>;
  displayName?: string;
  path: string;
  id?: string;
  orphan?: boolean;
}

export interface RenewResult {
  token: TokenEntry;
  leaseDurationSeconds: number;
  warnings: string[];
}

/** Vault sorts and de-duplicates policies and adds `default` unless told not to. */
export function sanitizePolicies(policies: readonly string[], addDefault: boolean): string[] {
  const set = new Set(policies.map((p) => p.trim()).filter((p) => p !== ""));
  if (set.has("root")) return ["root"];
  if (addDefault) set.add("default");
  return [...set].sort();
}

function randomId(prefix: string): string {
  return `${prefix}${randomBytes(18).toString("base64url")}`;
}

/** Holds live tokens. Expired tokens are dropped lazily on access; every method reads time from `clock` (ms). */
export class TokenStore {
  private readonly tokens = new Map<string, TokenEntry>();

  constructor(private readonly clock: () => number) {}

  /** Registers the root token: root policy, no TTL. */
  addRoot(id: string): TokenEntry {
    const entry: TokenEntry = {
      id,
      accessor: randomId(""),
      policies: ["root"],
      meta: {},
      displayName: "root",
      path: "auth/token/root",
      createdMs: this.clock(),
      creationTtlSeconds: 0,
      expiresAtMs: null,
      maxExpiresAtMs: null,
      explicitMaxTtlSeconds: 0,
      renewable: false,
      orphan: true,
      defaultIncrementSeconds: 0,
    };
    this.tokens.set(id, entry);
    return entry;
  }

  /** Issues a token; TTL is capped by the max TTL (returned warnings say so). Does no I/O. */
  issue(options: IssueOptions): { token: TokenEntry; warnings: string[] } {
    const now = this.clock();
    const explicitMax = options.explicitMaxTtlSeconds ?? 0;
    const limits = [SYSTEM_MAX_TTL_SECONDS, options.maxTtlSeconds ?? 0, explicitMax].filter((n) => n > 0);
    const maxTtl = Math.min(...limits);
    const requested = options.ttlSeconds > 0 ? options.ttlSeconds : SYSTEM_MAX_TTL_SECONDS;
    const warnings: string[] = [];
    const ttl = Math.min(requested, maxTtl);
    if (requested > maxTtl) warnings.push(`TTL of "${formatGoDuration(requested)}" exceeded the effective max_ttl of "${formatGoDuration(maxTtl)}"; TTL value is capped accordingly`);
    const token: TokenEntry = {
      id: options.id ?? randomId("hvs."),
      accessor: randomId(""),
      policies: options.policies,
      meta: options.meta ?? {},
      displayName: options.displayName ?? "token",
      path: options.path,
      createdMs: now,
      creationTtlSeconds: ttl,
      expiresAtMs: now + ttl * 1000,
      maxExpiresAtMs: now + maxTtl * 1000,
      explicitMaxTtlSeconds: explicitMax,
      renewable: options.renewable ?? true,
      orphan: options.orphan ?? true,
      defaultIncrementSeconds: requested,
    };
    this.tokens.set(token.id, token);
    return { token, warnings };
  }

  /** The live token with this id, or undefined when unknown, revoked or expired. */
  lookup(id: string): TokenEntry | undefined {
    const entry = this.tokens.get(id);
    if (!entry) return undefined;
    if (entry.expiresAtMs !== null && entry.expiresAtMs <= this.clock()) {
      this.tokens.delete(id);
      return undefined;
    }
    return entry;
  }

  /** Remaining life in whole seconds (0 for a token that never expires). */
  ttlSeconds(entry: TokenEntry): number {
    return entry.expiresAtMs === null ? 0 : Math.max(0, Math.floor((entry.expiresAtMs - this.clock()) / 1000));
  }

  /**
   * Extends a renewable token to now + increment, never beyond its max TTL; when capped, the
   * lease is the remaining time and a warning worded like real Vault's is returned.
   * Returns undefined for a token that is not renewable.
   */
  renew(entry: TokenEntry, incrementSeconds: number | undefined): RenewResult | undefined {
    if (!entry.renewable || entry.expiresAtMs === null) return undefined;
    const now = this.clock();
    const increment = incrementSeconds !== undefined && incrementSeconds > 0 ? incrementSeconds : entry.defaultIncrementSeconds;
    const warnings: string[] = [];
    let expires = now + increment * 1000;
    if (entry.maxExpiresAtMs !== null && expires > entry.maxExpiresAtMs) {
      expires = entry.maxExpiresAtMs;
      warnings.push(`TTL of "${formatGoDuration(increment)}" exceeded the effective max_ttl of "${formatGoDuration((expires - now) / 1000)}"; TTL value is capped accordingly`);
    }
    entry.expiresAtMs = expires;
    return { token: entry, leaseDurationSeconds: Math.max(0, Math.floor((expires - now) / 1000)), warnings };
  }

  revoke(id: string): boolean {
    return this.tokens.delete(id);
  }

  /** Revokes every token but the initial root token (as an operator revoking by prefix would); returns how many. */
  revokeAllButRoot(): number {
    let n = 0;
    for (const [id, entry] of [...this.tokens]) {
      if (entry.path === "auth/token/root") continue;
      this.tokens.delete(id);
      n++;
    }
    return n;
  }

  /** Live tokens, the initial root token excluded. */
  count(): number {
    let n = 0;
    for (const id of [...this.tokens.keys()]) {
      const entry = this.lookup(id);
      if (entry && entry.path !== "auth/token/root") n++;
    }
    return n;
  }
}
