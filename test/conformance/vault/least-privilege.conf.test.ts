// policies/credbroker.hcl rule by rule on a real Vault: each rule removed in turn breaks the scenario that needs it, restored it works again; the rules match the requests the broker makes, and its token carries no other policy.
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditFindings, brokerGrants, grantLabel, parsePolicy, type Grant } from "./audit-policy.js";
import { AUDIENCE, AUTH_MOUNT, condition, GOOD_KEYS, loginsIn, ROLE, startVaultWorld, waitFor, type SetupSettings, type VaultWorld } from "./world.js";

const LOGIN = `auth/${AUTH_MOUNT}/login`;
const PROBES_TXT = "/tmp/vault-probes.txt";
/** Where a scenario reads outside the policy on purpose (a root key the policy does not name). */
const FORBIDDEN_ROOT_KEY = "elsewhere";

/** One capability on one path: the unit a rule is removed by. */
interface Rule {
  path: string;
  capability: string;
}
const ruleKey = (r: Rule): string => `${r.capability} ${r.path}`;
const rulesOf = (grants: readonly Grant[]): Rule[] => grants.flatMap((g) => g.capabilities.map((capability) => ({ path: g.path, capability })));

/** What a scenario saw: whether the behaviour the rule exists for happened, and what the user could see. */
interface Outcome {
  holds: boolean;
  detail: string;
}

interface Probe {
  /** What the broker does with the rule. */
  scenario: string;
  /** The user-visible difference without it, as the test asserts it. */
  without: string;
  /** What `detail` shows when the rule is missing: the scenario failed the expected way, not some other. */
  brokenBy: RegExp;
  /** setup.sh settings the scenario runs under (with and without the rule). */
  setup?: SetupSettings;
  run(world: VaultWorld, ns: string): Promise<Outcome>;
}

const responses = (world: VaultWorld, path: string, since: number): { ok: number; denied: number } => {
  const all = world.brokerAudit().filter((e) => e.type === "response" && e.path === path && e.timeMs >= since);
  return { ok: all.filter((e) => e.error === "").length, denied: all.filter((e) => e.error.includes("permission denied")).length };
};

/** A namespace with one Gloo secret in Vault (under `rootKey`) and one AWS upstream using it. */
async function oneUpstream(world: VaultWorld, ns: string, rootKey?: string): Promise<void> {
  await world.writeSecret(ns, "keys", GOOD_KEYS, rootKey);
  await world.addUpstreams(ns, [["up", "keys"]]);
}

/** Keyed by `<capability> <path>`, exactly as the policy's rules. */
const PROBES: Record<string, Probe> = {
  "read secret/data/gloo/gloo.solo.io/v1/Secret/*": {
    scenario: "reads a Vault-sourced upstream's Gloo secret: the upstream turns Accepted",
    without: "the upstream stays Pending with SecretResolved Unknown / BrokerNotAuthorized",
    brokenBy: /^Pending, SecretResolved Unknown BrokerNotAuthorized/,
    run: async (world, ns) => {
      await oneUpstream(world, ns);
      await world.startBroker({ "kubernetes.namespaces": ns, "controller.backoffMaxMs": "2s" });
      await waitFor("a verdict or a refusal", async () => {
        const s = await world.status(ns, "up");
        return s?.state === "Accepted" || condition(s, "SecretResolved")?.reason === "BrokerNotAuthorized";
      });
      const s = await world.status(ns, "up");
      const c = condition(s, "SecretResolved");
      return { holds: s?.state === "Accepted" && c?.status === "True", detail: `${s?.state}, SecretResolved ${c?.status} ${c?.reason}` };
    },
  },
  "read auth/token/lookup-self": {
    scenario: "after a refused read, tells a denied path from a dead token: BrokerNotAuthorized with the one login it has",
    without: "every refused read looks like a dead token: a new login (a TokenReview) per refused read, and the log says 'Vault no longer accepts the token'; the status is the same BrokerNotAuthorized",
    brokenBy: /, ([2-9]|\d\d+) logins, .*lookup-self 0 ok/,
    run: async (world, ns) => {
      const started = Date.now();
      await oneUpstream(world, ns, FORBIDDEN_ROOT_KEY);
      const broker = await world.startBroker({ "kubernetes.namespaces": ns, "vault.rootKey": FORBIDDEN_ROOT_KEY, "controller.backoffMaxMs": "2s" });
      await waitFor("the forbidden read refused", async () => condition(await world.status(ns, "up"), "SecretResolved")?.reason === "BrokerNotAuthorized");
      const path = `secret/data/${FORBIDDEN_ROOT_KEY}/gloo.solo.io/v1/Secret/${ns}/keys`;
      // Three refusals: at least two attempts however many reads one attempt makes.
      await waitFor("three refused reads", () => Promise.resolve(responses(world, path, started).denied >= 3), 30_000);
      const audit = world.brokerAudit();
      const logins = loginsIn(audit, started).length;
      const lookups = responses(world, "auth/token/lookup-self", started);
      const relogins = broker.logs.filter((l) => l.includes("Vault no longer accepts the token")).length;
      const c = condition(await world.status(ns, "up"), "SecretResolved");
      return {
        holds: logins === 1 && relogins === 0 && lookups.ok > 0 && c?.reason === "BrokerNotAuthorized",
        detail: `${responses(world, path, started).denied} refused reads, ${logins} logins, ${relogins} 're-login' log lines, lookup-self ${lookups.ok} ok / ${lookups.denied} denied, SecretResolved ${c?.status} ${c?.reason}`,
      };
    },
  },
  "update auth/token/renew-self": {
    scenario: "with token_ttl 4s (max 1h), renews its token at ~2/3 of the TTL and keeps its one login",
    without: "every renewal is refused and the broker logs in again (a TokenReview) at ~2/3 of each TTL; upstreams stay Accepted",
    brokenBy: /^([2-9]|\d\d+) logins, renew-self 0 ok \/ [1-9]\d* denied/,
    setup: { tokenTtl: "4s", tokenMaxTtl: "1h" },
    run: async (world, ns) => {
      const started = Date.now();
      await oneUpstream(world, ns);
      await world.startBroker({ "kubernetes.namespaces": ns });
      await waitFor("the upstream accepted", async () => (await world.status(ns, "up"))?.state === "Accepted");
      // Whichever comes first: two renewals answered, or a second login.
      await waitFor("two renewals or a second login", () => Promise.resolve(responses(world, "auth/token/renew-self", started).ok >= 2 || loginsIn(world.brokerAudit(), started).length >= 2), 30_000);
      const logins = loginsIn(world.brokerAudit(), started).length;
      const renewals = responses(world, "auth/token/renew-self", started);
      const state = (await world.status(ns, "up"))?.state;
      return { holds: logins === 1 && renewals.ok >= 2, detail: `${logins} logins, renew-self ${renewals.ok} ok / ${renewals.denied} denied, upstream ${state}` };
    },
  },
  "update auth/token/revoke-self": {
    scenario: "revokes its token when it stops: no live token outlasts the broker",
    without: "revoke-self is refused (a warn line) and the token stays live in Vault until its TTL ends",
    brokenBy: /^1 live broker tokens after stop, revoke-self 0 ok \/ 1 denied/,
    run: async (world, ns) => {
      await oneUpstream(world, ns);
      await world.startBroker({ "kubernetes.namespaces": ns });
      await waitFor("the upstream accepted", async () => (await world.status(ns, "up"))?.state === "Accepted");
      const live = await world.brokerAccessors();
      if (live.length !== 1) throw new Error(`expected the broker's one token, found ${live.length}`);
      const stoppedAt = Date.now();
      await world.stopBrokers();
      const left = await world.brokerAccessors();
      const revokes = responses(world, "auth/token/revoke-self", stoppedAt);
      return { holds: left.length === 0 && revokes.ok === 1, detail: `${left.length} live broker tokens after stop, revoke-self ${revokes.ok} ok / ${revokes.denied} denied` };
    },
  },
};

/** HCL for `grants`, dropping paths left without a capability. Pure. */
function toHcl(grants: readonly Grant[]): string {
  return grants
    .filter((g) => g.capabilities.length > 0)
    .map((g) => `path "${g.path}" {\n  capabilities = [${g.capabilities.map((c) => `"${c}"`).join(", ")}]\n}\n`)
    .join("\n");
}

const minus = (grants: readonly Grant[], rule: Rule): Grant[] =>
  grants.map((g) => (g.path === rule.path ? { ...g, capabilities: g.capabilities.filter((c) => c !== rule.capability) } : g)).filter((g) => g.capabilities.length > 0);

interface ProbeResult {
  rule: string;
  scenario: string;
  without: string;
  withoutIt?: Outcome;
  restored?: Outcome;
}

function writeProbes(results: readonly ProbeResult[], summary: readonly string[]): void {
  const line = (o: Outcome | undefined): string => (o === undefined ? "not run" : `${o.holds ? "works" : "BROKEN"}: ${o.detail}`);
  const out = [
    "# policies/credbroker.hcl rule by rule on a real Vault 1.21.0 (test/conformance/vault/least-privilege.conf.test.ts)",
    "# each rule removed (setup.sh writing the policy minus it), the scenario run, then setup.sh run again with the shipped policy",
    "",
    ...results.flatMap((r) => [`## ${r.rule}`, `scenario:       ${r.scenario}`, `without it:     ${r.without}`, `  minus rule -> ${line(r.withoutIt)}`, `  restored   -> ${line(r.restored)}`, ""]),
    ...summary,
  ];
  writeFileSync(PROBES_TXT, `${out.join("\n")}\n`);
}

describe("policies/credbroker.hcl on a real Vault, rule by rule", () => {
  let world: VaultWorld;
  let dir: string;
  const grants = brokerGrants();
  const rules = rulesOf(grants);
  const results: ProbeResult[] = [];
  const summary: string[] = [];

  const storedPolicy = async (): Promise<Grant[]> => {
    const res = await world.vault.request("GET", "/v1/sys/policies/acl/credbroker", undefined, world.vault.rootToken);
    return parsePolicy("credbroker", (res.body as { data?: { policy?: string } }).data?.policy ?? "");
  };
  /** A clean slate for a scenario: no broker running, no broker token live in Vault. */
  const reset = async (): Promise<void> => {
    await world.stopBrokers();
    for (const accessor of await world.brokerAccessors()) {
      await world.vault.request("POST", "/v1/auth/token/revoke-accessor", { accessor }, world.vault.rootToken);
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "credbroker-least-privilege-"));
    world = await startVaultWorld();
  });
  afterAll(async () => {
    writeProbes(results, summary);
    await world?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("has a scenario for every rule of the policy, and none for a rule it lacks", () => {
    expect(rules.length).toBeGreaterThan(0);
    expect(Object.keys(PROBES).sort()).toEqual(rules.map(ruleKey).sort());
  });

  it.each(rules.map((r) => ({ ...r, key: ruleKey(r) })))("$key: the scenario breaks without it and works again with it", async (rule) => {
    const probe = PROBES[rule.key];
    // A rule without a scenario fails here too, even if the table test above were skipped.
    expect(probe, `no scenario for ${rule.key} in PROBES`).toBeDefined();
    if (probe === undefined) return;
    const result: ProbeResult = { rule: rule.key, scenario: probe.scenario, without: probe.without };
    results.push(result);
    const slug = rule.path.split("/").pop()?.replace(/[^a-z]/g, "") || "kv";

    const reduced = minus(grants, rule);
    const reducedFile = join(dir, `minus-${slug}.hcl`);
    await writeFile(reducedFile, toHcl(reduced));
    await reset();
    await world.configure({ ...probe.setup, policyFile: reducedFile });
    expect(rulesOf(await storedPolicy()).map(ruleKey)).toEqual(rulesOf(reduced).map(ruleKey));
    result.withoutIt = await probe.run(world, `${slug}-without`);
    writeProbes(results, summary);

    // Restored the way an operator would: setup.sh with the shipped policy.
    await reset();
    await world.configure(probe.setup);
    expect(rulesOf(await storedPolicy()).map(ruleKey)).toEqual(rules.map(ruleKey));
    result.restored = await probe.run(world, `${slug}-with`);
    await reset();
    writeProbes(results, summary);

    expect(result.withoutIt, `without ${rule.key}`).toMatchObject({ holds: false, detail: expect.stringMatching(probe.brokenBy) as unknown });
    expect(result.restored, `with ${rule.key} restored`).toMatchObject({ holds: true });
  }, 180_000);

  it("made only requests the policy allows, and used every rule of it (audit device, every scenario above)", async () => {
    await reset();
    await world.configure();
    const audit = world.brokerAudit();
    const { rows, notAllowed, foreignGrants } = auditFindings("least-privilege.conf.test.ts", audit, LOGIN, [new RegExp(`^read secret/data/${FORBIDDEN_ROOT_KEY}/`)]);
    expect(notAllowed).toEqual([]);
    expect(foreignGrants).toEqual([]);
    // Used: some request the rule allows was answered without an error.
    const unused = grants.flatMap((g) =>
      g.capabilities.filter((cap) => !rows.some((r) => r.grantedBy === grantLabel(g) && r.request.startsWith(`${cap} `) && r.count > r.errors)).map((cap) => `${cap} ${g.path}`),
    );
    expect(unused).toEqual([]);
    // Every token the broker got carried the credbroker policy alone.
    const issued = new Set(loginsIn(audit).map((e) => e.issuedPolicies.join(",")));
    expect([...issued]).toEqual(["credbroker"]);
    summary.push(
      "## the rules vs the requests (audit log of every scenario above)",
      ...rows.map((r) => `${r.request.padEnd(64)} ${String(r.count).padStart(4)}x (${r.errors} refused) <- ${r.grantedBy || "deliberate: outside the policy"}`),
      `unused rules: ${unused.length === 0 ? "none" : unused.join("; ")}`,
      `policies on the broker's tokens: ${[...issued].join(" | ")}`,
    );
  });

  it("writes the role with token_no_default_policy, so a broker token can do nothing else (cubbyhole, sys/tools, metadata, lists)", async () => {
    const role = await world.vault.request("GET", `/v1/auth/${AUTH_MOUNT}/role/${ROLE}`, undefined, world.vault.rootToken);
    expect((role.body as { data?: Record<string, unknown> }).data).toMatchObject({ token_no_default_policy: true, token_policies: ["credbroker"], audience: AUDIENCE });

    const login = await world.vault.request("POST", `/v1/${LOGIN}`, { role: ROLE, jwt: readFileSync(world.jwtFile, "utf8").trim() });
    expect(login.status).toBe(200);
    const auth = (login.body as { auth?: { client_token?: string; policies?: string[]; token_policies?: string[] } }).auth;
    expect(auth?.policies).toEqual(["credbroker"]);
    expect(auth?.token_policies).toEqual(["credbroker"]);
    const token = auth?.client_token ?? "";
    try {
      const denied = [
        ["PUT", "/v1/cubbyhole/probe", { x: "y" }],
        ["GET", "/v1/cubbyhole/probe", undefined],
        ["PUT", "/v1/sys/tools/hash", { input: "aGk=" }],
        ["PUT", "/v1/sys/capabilities-self", { paths: ["secret/"] }],
        ["PUT", "/v1/sys/leases/lookup", { lease_id: "x" }],
        ["GET", "/v1/secret/metadata/gloo/gloo.solo.io/v1/Secret/any/keys", undefined],
        ["LIST", "/v1/secret/metadata/gloo/gloo.solo.io/v1/Secret/any", undefined],
        ["PUT", "/v1/secret/data/gloo/gloo.solo.io/v1/Secret/any/keys", { data: {} }],
      ] as const;
      const answers: string[] = [];
      for (const [method, path, body] of denied) answers.push(`${method} ${path} ${(await world.vault.request(method, path, body, token)).status}`);
      expect(answers).toEqual(denied.map(([method, path]) => `${method} ${path} 403`));
      expect((await world.vault.request("GET", "/v1/auth/token/lookup-self", undefined, token)).status).toBe(200);
    } finally {
      expect((await world.vault.request("PUT", "/v1/auth/token/revoke-self", {}, token)).status).toBe(204);
    }
  });
});
