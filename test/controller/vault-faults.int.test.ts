// A Vault-backed upstream through the whole broker while Vault is sealed, while logins fail (TokenReview down), or while its policy is removed: the verdict stands, the condition says so, it recovers by itself.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";
import { upstreamProbe } from "../support/upstream-probe.js";

const NS = "team-payments";
const NAME = "payments-vault";

describe("a Vault-backed upstream under Vault faults", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  const probe = upstreamProbe(() => sandbox, NS, NAME);
  const { entry, reverify } = probe;
  const secretResolved = () => probe.condition("SecretResolved");
  /** Every state and SecretResolved status seen over `ms`. */
  const sample = (ms: number) => probe.sample(ms, "SecretResolved");

  beforeAll(async () => {
    sandbox = await startSandbox();
    broker = await startTestBroker(sandboxConfig(sandbox, { "log.level": "info", "vault.pollIntervalMs": "1s" }));
    await eventually("the Vault-backed upstream Accepted", () => entry()?.state === "Accepted");
  });
  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
  });

  it("stays Accepted with SecretResolved Unknown for as long as Vault is sealed, and recovers after unseal", async () => {
    sandbox.vault.seal();
    try {
      reverify("sealed-1");
      await eventually("SecretResolved Unknown", () => secretResolved()?.status === "Unknown");
      expect(secretResolved()?.message).toMatch(/Vault unavailable since \d{4}-\d\d-\d\dT/);
      // The retries (backoff 100 ms to 2 s) and the poll (1 s) must not bring "Resolved" back while sealed.
      expect(await sample(4000)).toEqual(["Accepted/Unknown/SecretSourceUnavailable"]);
    } finally {
      sandbox.vault.unseal();
    }
    await eventually("SecretResolved True again", () => secretResolved()?.status === "True", 5000);
    expect(entry()?.state).toBe("Accepted");
  }, 20_000);

  it("keeps the verdict when a re-login fails because TokenReview fails, and backs the logins off", async () => {
    const loginsBefore = sandbox.vault.loginCount("kubernetes");
    const deniedBefore = () => sandbox.vault.counters.get("login kubernetes", "denied");
    const denied0 = deniedBefore();
    sandbox.kube.faults.set({ outage: true, operations: ["create tokenreviews"] });
    try {
      // Vault no longer knows the broker's token: the next read needs a new login, and that fails.
      sandbox.vault.revokeAllTokens();
      reverify("relogin-1");
      await eventually("SecretResolved Unknown", () => secretResolved()?.status === "Unknown");
      expect(secretResolved()?.reason).toBe("VaultLoginFailed");
      expect(await sample(4000)).toEqual(["Accepted/Unknown/VaultLoginFailed"]);
    } finally {
      sandbox.kube.faults.reset();
    }
    // About 5 s of failing logins: backed off 1, 2, 4 s (not one per retry or per read).
    expect(deniedBefore() - denied0).toBeLessThanOrEqual(5);
    await eventually("SecretResolved True again", () => secretResolved()?.status === "True", 10_000);
    expect(entry()?.state).toBe("Accepted");
    expect(sandbox.vault.loginCount("kubernetes")).toBeGreaterThan(loginsBefore);
    expect(broker.logs.filter((l) => l.includes("Vault login failing")).length).toBe(1);
  }, 30_000);

  it("keeps the verdict while the broker's Vault policy is removed (BrokerNotAuthorized), says so once in the log, and recovers when it is back", async () => {
    const policy = await readFile(new URL("../../policies/credbroker.hcl", import.meta.url), "utf8");
    const logsBefore = broker.logs.length;
    const streaks = async () => Number(/credbroker_broker_not_authorized_streaks_total\{dependency="vault"\} (\d+)/.exec(await broker.metrics.render())?.[1] ?? "0");
    const streaks0 = await streaks();
    sandbox.vault.writePolicy("credbroker", 'path "secret/data/unrelated/*" { capabilities = ["read"] }');
    try {
      reverify("policy-removed-1");
      await eventually("SecretResolved Unknown", () => secretResolved()?.status === "Unknown");
      expect(secretResolved()?.reason).toBe("BrokerNotAuthorized");
      expect(secretResolved()?.message).toContain("policies/credbroker.hcl");
      // Retries (backoff 100 ms to 2 s) and polls (1 s) keep meeting the refusal: Unknown throughout, never Rejected.
      expect(await sample(4000)).toEqual(["Accepted/Unknown/BrokerNotAuthorized"]);
    } finally {
      sandbox.vault.writePolicy("credbroker", policy);
    }
    await eventually("SecretResolved True again", () => secretResolved()?.status === "True", 10_000);
    expect(entry()?.state).toBe("Accepted");
    const lines = broker.logs.slice(logsBefore);
    expect(lines.filter((l) => l.includes("Vault refuses the broker's own identity"))).toHaveLength(1);
    expect(lines.filter((l) => l.includes("Vault authorizes the broker again"))).toHaveLength(1);
    expect(lines.filter((l) => l.includes("Vault unavailable"))).toHaveLength(0);
    expect((await streaks()) - streaks0).toBe(1);
  }, 30_000);
});
