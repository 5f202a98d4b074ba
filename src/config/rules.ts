// The rules that join settings (a Vault source needs an address, a lease outlives its renew deadline), checked together with the rest.
import type { Config } from "./schema.js";

/** Where a setting's value came from, so a message names it as the user wrote it. */
export type SettingOrigin = { kind: "file"; file: string } | { kind: "env"; name: string } | { kind: "flag"; name: string };

/**
 * The settings as assessed: a Config in which every invalid setting holds its default (so the
 * combination and file checks can still run on the rest), which ones were invalid, and where each
 * value came from. Messages name a setting through `line` and `ref`, never its value.
 */
export interface AssessedSettings {
  config: Config;
  invalid: ReadonlySet<string>;
  isSet(path: string): boolean;
  /** `setting <path> (from <source>): <problem>`; an unset setting lists its variable and flag instead. */
  line(path: string, problem: string): string;
  /** Another setting mentioned in a message: `<path> (from <source>)` or `<path> (default)`. */
  ref(path: string): string;
}


interface CombinationRule {
  /** The settings the rule reads: it is skipped when one of them is invalid (that is reported already). */
  reads: string[];
  check(c: Config, s: AssessedSettings): string[];
}

const usesVault = (c: Config): boolean => c.secrets.sources.includes("vault");

/**
 * Blames whichever of two settings the user set (the first when both or neither, as the one more
 * likely changed), naming the other with its source: "must be shorter than" or "longer than" it.
 */
function blame(s: AssessedSettings, first: string, second: string, relation: { first: string; second: string }): string {
  return !s.isSet(first) && s.isSet(second) ? s.line(second, `${relation.second} ${s.ref(first)}`) : s.line(first, `${relation.first} ${s.ref(second)}`);
}

const RULES: CombinationRule[] = [
  {
    reads: ["secrets.sources", "vault.address"],
    check: (c, s) => (usesVault(c) && c.vault.address === undefined ? [s.line("vault.address", `required when ${s.ref("secrets.sources")} includes vault`)] : []),
  },
  {
    reads: ["secrets.sources", "vault.authMethod", "vault.role"],
    check: (c, s) => (usesVault(c) && c.vault.authMethod === "kubernetes" && c.vault.role === undefined ? [s.line("vault.role", `required when ${s.ref("vault.authMethod")} is kubernetes`)] : []),
  },
  {
    reads: ["secrets.sources", "vault.authMethod", "vault.roleId", "vault.secretIdFile"],
    check: (c, s) => {
      if (!usesVault(c) || c.vault.authMethod !== "approle") return [];
      const missing = (["roleId", "secretIdFile"] as const).filter((k) => c.vault[k] === undefined);
      return missing.map((k) => s.line(`vault.${k}`, `required when ${s.ref("vault.authMethod")} is approle`));
    },
  },
  {
    reads: ["secrets.sources", "vault.authMethod", "vault.tokenFile"],
    check: (c, s) => (usesVault(c) && c.vault.authMethod === "token" && c.vault.tokenFile === undefined ? [s.line("vault.tokenFile", `required when ${s.ref("vault.authMethod")} is token`)] : []),
  },
  {
    reads: ["vault.clientCertFile", "vault.clientKeyFile"],
    check: (c, s) => {
      if ((c.vault.clientCertFile === undefined) === (c.vault.clientKeyFile === undefined)) return [];
      const [missing, given] = c.vault.clientCertFile === undefined ? ["vault.clientCertFile", "vault.clientKeyFile"] : ["vault.clientKeyFile", "vault.clientCertFile"];
      return [s.line(missing, `required with ${s.ref(given)}: give both or neither`)];
    },
  },
  {
    reads: ["http.auth", "http.tokenFile"],
    check: (c, s) => (c.http.auth === "token-file" && c.http.tokenFile === undefined ? [s.line("http.tokenFile", `required when ${s.ref("http.auth")} is token-file`)] : []),
  },
  {
    reads: ["http.auth", "http.host"],
    check: (c, s) => (c.http.auth === "none" && !isLoopback(c.http.host) ? [s.line("http.auth", `none is only allowed when ${s.ref("http.host")} is a loopback address`)] : []),
  },
  {
    reads: ["http.auth", "http.allowAnonymousOnLoopback"],
    check: (c, s) => (c.http.auth === "none" && !c.http.allowAnonymousOnLoopback ? [s.line("http.allowAnonymousOnLoopback", `must be true when ${s.ref("http.auth")} is none`)] : []),
  },
  {
    reads: ["http.auth", "http.allowAnonymousOnLoopback"],
    check: (c, s) => (c.http.auth !== "none" && c.http.allowAnonymousOnLoopback ? [s.line("http.allowAnonymousOnLoopback", `only applies when ${s.ref("http.auth")} is none; with ${c.http.auth} every API call needs a token`)] : []),
  },
  {
    reads: ["http.port", "http.opsPort"],
    check: (c, s) => (c.http.opsPort !== undefined && c.http.opsPort !== 0 && c.http.opsPort === c.http.port ? [s.line("http.opsPort", `must differ from ${s.ref("http.port")} (leave it unset to serve both on one port)`)] : []),
  },
  {
    reads: ["controller.backoffMinMs", "controller.backoffMaxMs"],
    check: (c, s) =>
      c.controller.backoffMinMs > c.controller.backoffMaxMs ? [blame(s, "controller.backoffMinMs", "controller.backoffMaxMs", { first: "must not exceed", second: "must not be less than" })] : [],
  },
  {
    reads: ["leader.renewDeadlineMs", "leader.leaseDurationMs"],
    check: (c, s) =>
      c.leader.renewDeadlineMs >= c.leader.leaseDurationMs ? [blame(s, "leader.renewDeadlineMs", "leader.leaseDurationMs", { first: "must be shorter than", second: "must be longer than" })] : [],
  },
  {
    reads: ["leader.retryPeriodMs", "leader.renewDeadlineMs"],
    check: (c, s) =>
      c.leader.retryPeriodMs >= c.leader.renewDeadlineMs ? [blame(s, "leader.retryPeriodMs", "leader.renewDeadlineMs", { first: "must be shorter than", second: "must be longer than" })] : [],
  },
];

/** Every combination problem among the valid settings, one line each. Pure. */
export function combinationProblems(s: AssessedSettings): string[] {
  return RULES.filter((rule) => rule.reads.every((path) => !s.invalid.has(path))).flatMap((rule) => rule.check(s.config, s));
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
