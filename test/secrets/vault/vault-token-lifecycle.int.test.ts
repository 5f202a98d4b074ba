// The Vault token lifecycle against the emulator on a shared manual clock: renewal, max TTL, revocation, single-flight login, outages, policy.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerNotAuthorizedError, SecretSourceUnavailableError } from "../../../src/model/errors.js";
import type { SecretRef } from "../../../src/model/upstream.js";
import { Metrics } from "../../../src/observability/metrics.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { awsFlat, ISSUED_VALUES, toVaultData } from "../fixtures.js";
import { captureLog, expectNoValues, failureOf } from "../log-capture.js";
import { BROKER_ACCOUNT, BROKER_NAMESPACE, glooVaultPath, startSandbox, type Sandbox } from "../sandbox.js";
import { brokerSettings, buildSource, currentToken, type BuiltSource } from "./harness.js";

const log = captureLog();
const ref: SecretRef = { namespace: "gloo-system", name: "aws-creds" };

describe("Vault token lifecycle", () => {
  let clock: FakeClock;
  let sandbox: Sandbox;
  const built: BuiltSource[] = [];
  const renewals = () => sandbox.vault.counters.get("renew-self", "ok");
  const logins = () => sandbox.vault.loginCount("kubernetes");
  /**
   * Vault calls of `operation` whose answers the broker has taken in. Vault counts a call before
   * the broker has read its answer (and armed its next timer), so a test that moves the clock
   * waits on this side, or it could move time before the next timer exists.
   */
  const handled = async (metrics: Metrics, operation: "renew" | "login"): Promise<number> => {
    const { values } = await metrics.vaultOperations.get();
    return values.find((v) => v.labels["operation"] === operation && v.labels["result"] === "ok")?.value ?? 0;
  };
  const make = async (overrides: Parameters<typeof brokerSettings>[1] = {}, metrics = new Metrics()) => {
    const b = await buildSource(brokerSettings(sandbox, overrides), { clock, logger: log.logger, telemetry: metrics });
    built.push(b);
    return b;
  };

  beforeAll(async () => {
    clock = new FakeClock();
    sandbox = await startSandbox({ clock: clock.now, ttlSeconds: 30, maxTtlSeconds: 3600 });
    sandbox.vault.configureKubernetesRole("kubernetes", "credbroker-short", {
      boundServiceAccountNames: [BROKER_ACCOUNT],
      boundServiceAccountNamespaces: [BROKER_NAMESPACE],
      policies: ["credbroker"],
      ttlSeconds: 30,
      maxTtlSeconds: 60,
    });
    sandbox.vault.putSecret("secret", glooVaultPath(ref.namespace, ref.name), toVaultData(ref, awsFlat()));
  });

  afterAll(async () => {
    for (const b of built) await b.source.stop();
    const jwt = await readFile(sandbox.jwtFile, "utf8");
    await sandbox.close();
    expectNoValues(log, [...ISSUED_VALUES, jwt.trim(), ...built.flatMap((b) => b.tokens)]);
  });

  it("renews the token at about two thirds of its TTL instead of logging in again", async () => {
    const metrics = new Metrics();
    const b = await make({}, metrics);
    await b.source.start();
    const [logins0, renewals0] = [logins(), renewals()];
    clock.advance(21_000);
    await expect.poll(() => handled(metrics, "renew"), { timeout: 5000, interval: 10 }).toBe(1);
    clock.advance(21_000);
    await expect.poll(() => handled(metrics, "renew"), { timeout: 5000, interval: 10 }).toBe(2);
    expect(renewals()).toBe(renewals0 + 2);
    await expect(b.source.resolve({ ref, fresh: true })).resolves.toMatchObject({ source: "vault" });
    expect(logins()).toBe(logins0);
    const text = await metrics.render();
    expect(text).toMatch(/credbroker_vault_operations_total\{operation="renew",result="ok"\} 2/);
    expect(text).toMatch(/credbroker_vault_token_ttl_seconds\{auth="kubernetes"\} 30/);
    await b.source.stop();
  });

  it("logs in afresh when renewal is capped by the max TTL", async () => {
    const metrics = new Metrics();
    const b = await make({ role: "credbroker-short" }, metrics);
    await b.source.start();
    const [logins0, renewals0] = [logins(), renewals()];
    clock.advance(20_000); // renewal at ~19 s: lease 30 s, up to 49 s
    await expect.poll(() => handled(metrics, "renew"), { timeout: 5000, interval: 10 }).toBe(1);
    clock.advance(20_000); // renewal at ~38 s: capped at the 60 s max TTL (lease 22 s)
    await expect.poll(() => handled(metrics, "renew"), { timeout: 5000, interval: 10 }).toBe(2);
    expect(renewals()).toBe(renewals0 + 2);
    expect(logins()).toBe(logins0);
    clock.advance(15_000); // re-login at ~52 s, before the token dies at 60 s
    await expect.poll(() => handled(metrics, "login"), { timeout: 5000, interval: 10 }).toBe(2);
    expect(logins()).toBe(logins0 + 1);
    clock.advance(10_000); // the first token is now past its max TTL
    await expect(b.source.resolve({ ref, fresh: true })).resolves.toMatchObject({ source: "vault" });
    expect(logins()).toBe(logins0 + 1);
    await b.source.stop();
  });

  it("logs in again, re-reading the JWT, when its token is revoked, and the read succeeds", async () => {
    const b = await make();
    await b.source.resolve({ ref });
    const [logins0, reads0] = [logins(), b.fileReads];
    expect(sandbox.vault.revokeToken(currentToken(b))).toBe(true);
    await expect(b.source.resolve({ ref, fresh: true })).resolves.toMatchObject({ source: "vault" });
    expect(logins()).toBe(logins0 + 1);
    expect(b.fileReads).toBe(reads0 + 1);
    await b.source.stop();
  });

  it("performs exactly one login for 200 concurrent reads that arrive during it", async () => {
    const b = await make();
    const logins0 = logins();
    sandbox.vault.faults.set({ latencyMs: 100, operations: ["login kubernetes"] });
    try {
      const results = await Promise.all(Array.from({ length: 200 }, () => b.source.resolve({ ref, fresh: true })));
      expect(results).toHaveLength(200);
    } finally {
      sandbox.vault.faults.reset();
    }
    expect(logins()).toBe(logins0 + 1);
    await b.source.stop();
  });

  it("fails reads as SecretSourceUnavailable for as long as Vault is sealed, cached copy or not, and recovers on unseal", async () => {
    const b = await make();
    await b.source.start();
    const readAt = new Date(clock.now()).toISOString();
    await b.source.resolve({ ref });
    clock.advance(5000);
    const sealedAt = new Date(clock.now()).toISOString();
    sandbox.vault.seal();
    try {
      const err = await failureOf(log, b.source.resolve({ ref, fresh: true }));
      expect(err).toBeInstanceOf(SecretSourceUnavailableError);
      expect((err as SecretSourceUnavailableError).retryable).toBe(true);
      // The next, routine read does not answer from the cache: the outage would vanish from the status.
      clock.advance(10_000);
      const again = await failureOf(log, b.source.resolve({ ref }));
      expect(again).toBeInstanceOf(SecretSourceUnavailableError);
      expect((again as Error).message).toContain(`Vault unavailable since ${sealedAt}`);
      expect((again as Error).message).toContain(`the copy read at ${readAt} is not used`);
    } finally {
      sandbox.vault.unseal();
    }
    await expect(b.source.resolve({ ref })).resolves.toMatchObject({ source: "vault" });
    await b.source.stop();
  });

  it("tells listeners when an outage found by the poll begins and ends, so every user's status says so", async () => {
    const b = await make();
    await b.source.start();
    await b.source.resolve({ ref });
    const told: string[] = [];
    b.source.onChange((r) => told.push(r.name));
    sandbox.vault.seal();
    try {
      await b.source.pollOnce();
      expect(told).toEqual(["aws-creds"]);
      await b.source.pollOnce();
      expect(told).toEqual(["aws-creds"]);
    } finally {
      sandbox.vault.unseal();
    }
    await b.source.pollOnce();
    expect(told).toEqual(["aws-creds", "aws-creds"]);
    await b.source.stop();
  });

  it("fails reads and logins as SecretSourceUnavailable while Vault is down, and recovers by itself", async () => {
    const b = await make();
    sandbox.vault.faults.set({ outage: true });
    try {
      expect(await failureOf(log, b.source.resolve({ ref }))).toBeInstanceOf(SecretSourceUnavailableError);
      await b.source.start(); // a failed initial login is not fatal
      expect(await failureOf(log, b.source.resolve({ ref, fresh: true }))).toBeInstanceOf(SecretSourceUnavailableError);
    } finally {
      sandbox.vault.faults.reset();
    }
    // Failed logins back off (1 s first): the next one after that recovers.
    clock.advance(1500);
    await expect(b.source.resolve({ ref, fresh: true })).resolves.toMatchObject({ source: "vault" });
    await b.source.stop();
  });

  it("maps throttling and 5xx to SecretSourceUnavailable", async () => {
    const b = await make();
    await b.source.start();
    for (const fault of [{ throttleRate: 1 }, { errorRate: 1 }]) {
      sandbox.vault.faults.set({ ...fault, operations: ["kv read"] });
      try {
        expect(await failureOf(log, b.source.resolve({ ref, fresh: true }))).toBeInstanceOf(SecretSourceUnavailableError);
      } finally {
        sandbox.vault.faults.reset();
      }
    }
    await b.source.stop();
  });

  it("reads Gloo's layout under policy credbroker and is refused outside it as BrokerNotAuthorized (the broker's policy, never a verdict), without logging in again", async () => {
    const inside = await make();
    await expect(inside.source.resolve({ ref })).resolves.toMatchObject({ location: `vault:secret/data/${glooVaultPath(ref.namespace, ref.name)}` });
    sandbox.vault.putSecret("secret", `elsewhere/${ref.namespace}/${ref.name}`, toVaultData(ref, awsFlat()));
    const outside = await make({ pathTemplate: "secret/data/elsewhere/{namespace}/{name}" });
    await outside.source.start(); // logged in before the denial, so a re-login would show
    const logins0 = logins();
    const err = await failureOf(log, outside.source.resolve({ ref }));
    expect(err).toBeInstanceOf(BrokerNotAuthorizedError);
    expect((err as BrokerNotAuthorizedError).reason).toBe("BrokerNotAuthorized");
    expect((err as BrokerNotAuthorizedError).retryable).toBe(true);
    expect((err as Error).message).toContain("policies/credbroker.hcl");
    expect((err as Error).message).toContain("secret/data/elsewhere/gloo-system/aws-creds");
    expect(logins()).toBe(logins0);
    await Promise.all([inside.source.stop(), outside.source.stop()]);
  });

  it("revokes its token on stop", async () => {
    const b = await make();
    await b.source.resolve({ ref });
    const revoked0 = sandbox.vault.counters.get("revoke-self", "ok");
    await b.source.stop();
    await b.source.stop();
    expect(sandbox.vault.counters.get("revoke-self", "ok")).toBe(revoked0 + 1);
    expect(sandbox.vault.revokeToken(currentToken(b))).toBe(false);
  });

  it("logs in with AppRole, reading the secret_id from its file", async () => {
    const { roleId, secretId } = sandbox.vault.configureAppRole("approle", "credbroker", { policies: ["credbroker"], ttlSeconds: 60 });
    const secretIdFile = join(sandbox.dir, "secret-id");
    await writeFile(secretIdFile, secretId, { mode: 0o600 });
    const b = await make({ authMethod: "approle", roleId, secretIdFile });
    await expect(b.source.resolve({ ref })).resolves.toMatchObject({ source: "vault" });
    expect(sandbox.vault.loginCount("approle")).toBe(1);
    await b.source.stop();
    ISSUED_VALUES.push(secretId);
  });

  it("takes a refused login as the broker's problem (VaultLoginFailed, transient), never a verdict, and logs it without the JWT", async () => {
    const wrongRole = await make({ role: "no-such-role" });
    const err = await failureOf(log, wrongRole.source.resolve({ ref }));
    expect(err).toMatchObject({ reason: "VaultLoginFailed", retryable: true });
    expect((err as Error).message).toMatch(/cannot log in to Vault \(kubernetes:kubernetes:no-such-role\)/);
    expect(log.lines.length).toBeGreaterThan(0);
  });

  it("backs failed logins off: a minute of reads against a refusing Vault costs a handful of logins, one log line and one streak", async () => {
    const metrics = new Metrics();
    const wrongRole = await make({ role: "no-such-role" }, metrics);
    const loginAttempts = async () => (await metrics.vaultOperations.get()).values.filter((v) => v.labels["operation"] === "login").reduce((sum, v) => sum + v.value, 0);
    const attempts0 = await loginAttempts();
    const lines0 = log.lines.filter((l) => l.includes("Vault login failing")).length;
    for (let i = 0; i < 600; i++) {
      await wrongRole.source.resolve({ ref }).catch(() => undefined);
      clock.advance(100);
    }
    const attempts = (await loginAttempts()) - attempts0;
    // 1, 2, 4, 8, 16, 30, 30 s apart (less jitter): 7 or 8 attempts in 60 s.
    expect(attempts).toBeGreaterThanOrEqual(6);
    expect(attempts).toBeLessThanOrEqual(9);
    expect(log.lines.filter((l) => l.includes("Vault login failing")).length - lines0).toBe(1);
    expect((await metrics.vaultLoginFailureStreaks.get()).values[0]?.value).toBe(1);
  });
});
