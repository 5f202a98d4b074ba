// VaultSecretSource when Vault refuses the broker's own token (policy removed, token file not valid): BrokerNotAuthorized, never a verdict, one log line per streak.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerNotAuthorizedError, SecretNotFoundError } from "../../../src/model/errors.js";
import type { SecretRef } from "../../../src/model/upstream.js";
import { Metrics } from "../../../src/observability/metrics.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { createVaultSecretSource, type VaultSecretSource } from "../../../src/secrets/vault/vault-secret-source.js";
import { awsFlat, ISSUED_VALUES, toVaultData } from "../fixtures.js";
import { captureLog, expectNoValues, failureOf, type CapturedLog } from "../log-capture.js";
import { glooVaultPath, POLICIES_DIR, startSandbox, type Sandbox } from "../sandbox.js";
import { brokerSettings, tokenFileSettings } from "./harness.js";

const ref: SecretRef = { namespace: "team-a", name: "aws-creds" };
const PATH = `secret/data/${glooVaultPath(ref.namespace, ref.name)}`;

const parsed = (log: CapturedLog) => log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
const streakStarts = (log: CapturedLog) => parsed(log).filter((l) => l["level"] === "warn" && String(l["msg"]).includes("refuses the broker's own identity"));
const streakEnds = (log: CapturedLog) => parsed(log).filter((l) => l["level"] === "info" && String(l["msg"]).includes("authorizes the broker again"));
const streaksCounted = async (metrics: Metrics) => Number(/credbroker_broker_not_authorized_streaks_total\{dependency="vault"\} (\d+)/.exec(await metrics.render())?.[1] ?? "0");

describe("VaultSecretSource refused by Vault", () => {
  let sandbox: Sandbox;
  let policy: string;
  const clock = new FakeClock();

  beforeAll(async () => {
    sandbox = await startSandbox({ clock: clock.now });
    policy = await readFile(join(POLICIES_DIR, "credbroker.hcl"), "utf8");
    sandbox.vault.putSecret("secret", glooVaultPath(ref.namespace, ref.name), toVaultData(ref, awsFlat()));
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const make = async (log: CapturedLog, metrics: Metrics): Promise<VaultSecretSource> => {
    const source = await createVaultSecretSource(brokerSettings(sandbox), { logger: log.logger, telemetry: metrics, cacheSize: 10, clock, random: () => 0.5 });
    await source.start();
    return source;
  };

  it("answers a removed policy with BrokerNotAuthorized (retryable) without using the cached copy, logs the streak once and its end once", async () => {
    const log = captureLog();
    const metrics = new Metrics();
    const source = await make(log, metrics);
    await source.resolve({ ref });
    const notified: SecretRef[] = [];
    source.onChange((r) => notified.push(r));
    sandbox.vault.writePolicy("credbroker", 'path "secret/data/unrelated/*" { capabilities = ["read"] }');
    try {
      // The poll meets the refusal first: the upstream is told once, and its copy is no longer used.
      await source.pollOnce();
      expect(notified).toEqual([ref]);
      await source.pollOnce();
      expect(notified).toHaveLength(1);
      for (let i = 0; i < 5; i++) {
        const err = await failureOf(log, source.resolve({ ref }));
        expect(err).toBeInstanceOf(BrokerNotAuthorizedError);
        expect(err).toMatchObject({ reason: "BrokerNotAuthorized", retryable: true });
        expect((err as Error).message).toContain(PATH);
      }
    } finally {
      sandbox.vault.writePolicy("credbroker", policy);
    }
    await expect(source.resolve({ ref })).resolves.toMatchObject({ source: "vault" });

    const starts = streakStarts(log);
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({ dependency: "vault", operation: "read", subject: PATH, status: 403 });
    expect(String(starts[0]!["fix"])).toContain("policies/credbroker.hcl");
    expect(streakEnds(log)).toHaveLength(1);
    expect(streakEnds(log)[0]).toMatchObject({ dependency: "vault", refusals: 7 });
    expect(await streaksCounted(metrics)).toBe(1);
    // Vault answered every time: a refusal is not an outage.
    expect(log.lines.some((l) => l.includes("Vault unavailable"))).toBe(false);
    // One login for all of it: a policy refusal with a live token is not a dead token.
    expect(sandbox.vault.loginCount("kubernetes")).toBe(1);
    expectNoValues(log, ISSUED_VALUES);
    await source.stop();
  });

  it("still gives a missing secret SecretNotFound (a verdict), and that answer ends a streak on its path", async () => {
    const log = captureLog();
    const metrics = new Metrics();
    const source = await make(log, metrics);
    const missing: SecretRef = { namespace: "team-a", name: "absent" };
    sandbox.vault.writePolicy("credbroker", 'path "secret/data/unrelated/*" { capabilities = ["read"] }');
    try {
      expect(await failureOf(log, source.resolve({ ref: missing }))).toBeInstanceOf(BrokerNotAuthorizedError);
    } finally {
      sandbox.vault.writePolicy("credbroker", policy);
    }
    const err = await failureOf(log, source.resolve({ ref: missing }));
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect(err).toMatchObject({ reason: "SecretNotFound", retryable: false });
    expect(streakEnds(log)).toHaveLength(1);
    await source.stop();
  });

  it("answers a vault.tokenFile token Vault does not accept with BrokerNotAuthorized naming the setting", async () => {
    const log = captureLog();
    const metrics = new Metrics();
    const settings = await tokenFileSettings(sandbox, "hvs.notATokenVaultKnows0000001");
    const source = await createVaultSecretSource(settings, { logger: log.logger, telemetry: metrics, cacheSize: 10, clock, random: () => 0.5 });
    const err = await failureOf(log, source.resolve({ ref }));
    expect(err).toBeInstanceOf(BrokerNotAuthorizedError);
    expect(err).toMatchObject({ reason: "BrokerNotAuthorized", retryable: true });
    expect((err as Error).message).toContain("vault.tokenFile");
    expect(log.lines.join("\n")).not.toContain("hvs.notATokenVaultKnows0000001");
    expect((err as Error).message).not.toContain("hvs.notATokenVaultKnows0000001");
    await source.stop();
  });
});
