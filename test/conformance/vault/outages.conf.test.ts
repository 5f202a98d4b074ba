// A real Vault sealed, and stopped, under the broker: the status says so for as long as it lasts, the verdict stays, and it recovers by itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditFindings } from "./audit-policy.js";
import { AUTH_MOUNT, condition, GOOD_KEYS, sleep, startVaultWorld, waitFor, type VaultWorld } from "./world.js";

const NS = "outages";
const UPSTREAMS = ["s1", "s2", "s3", "s4"] as const;
/** The controller's longest retry delay here: "within one retry" is this plus a reconcile. */
const BACKOFF_MAX_MS = 5_000;
const RECOVERY_BOUND_MS = BACKOFF_MAX_MS * 1.1 + 4_000;

describe("a real Vault sealed or stopped under the broker", () => {
  let world: VaultWorld;

  const resolvedEverywhere = async (): Promise<boolean> => {
    for (const name of UPSTREAMS) {
      const s = await world.status(NS, name);
      if (s?.state !== "Accepted" || condition(s, "SecretResolved")?.status !== "True") return false;
    }
    return true;
  };

  /**
   * Forces a re-verification of every upstream while Vault is out, waits for each to show the outage,
   * then polls every second for `holdMs`: each poll must find every upstream Accepted with
   * SecretResolved Unknown / SecretSourceUnavailable, its transition time unchanged. Returns the violations.
   */
  const holdThroughOutage = async (label: string, holdMs: number): Promise<string[]> => {
    for (const name of UPSTREAMS) await world.reverify(NS, name, label);
    const unknown = async (name: string): Promise<boolean> => {
      const c = condition(await world.status(NS, name), "SecretResolved");
      return c?.status === "Unknown" && c.reason === "SecretSourceUnavailable";
    };
    await waitFor(`every upstream showing the outage (${label})`, async () => (await Promise.all(UPSTREAMS.map(unknown))).every(Boolean), 15_000);
    const since = new Map<string, string | undefined>();
    for (const name of UPSTREAMS) since.set(name, condition(await world.status(NS, name), "SecretResolved")?.lastTransitionTime);
    const violations: string[] = [];
    const started = Date.now();
    for (let second = 1; Date.now() - started < holdMs; second++) {
      await sleep(1_000);
      for (const name of UPSTREAMS) {
        const s = await world.status(NS, name);
        const c = condition(s, "SecretResolved");
        if (s?.state !== "Accepted") violations.push(`${second}s ${name}: state ${s?.state} (${s?.reason})`);
        if (c?.status !== "Unknown" || c.reason !== "SecretSourceUnavailable") violations.push(`${second}s ${name}: SecretResolved ${c?.status} ${c?.reason} "${c?.message}"`);
        else if (c.lastTransitionTime !== since.get(name)) violations.push(`${second}s ${name}: the outage's start moved from ${since.get(name)} to ${c.lastTransitionTime}`);
      }
    }
    return violations;
  };

  beforeAll(async () => {
    world = await startVaultWorld();
    for (const name of UPSTREAMS) await world.writeSecret(NS, `keys-${name}`, GOOD_KEYS);
    await world.addUpstreams(NS, UPSTREAMS.map((name) => [name, `keys-${name}`] as const));
    await world.startBroker({ "controller.backoffMaxMs": `${BACKOFF_MAX_MS}ms` });
    await waitFor("every upstream accepted", resolvedEverywhere);
  });
  afterAll(async () => {
    await world?.close();
  });

  it("sealed for 30 s during a forced re-verification: every upstream stays Accepted with SecretResolved Unknown all along, and recovers within one retry of the unseal", async () => {
    await world.vault.seal();
    let violations: string[];
    try {
      violations = await holdThroughOutage("sealed", 30_000);
    } finally {
      await world.vault.unseal();
    }
    const recoveryMs = await waitFor("SecretResolved True again after the unseal", resolvedEverywhere, 60_000);
    console.info(`sealed: recovered ${recoveryMs} ms after the unseal`);
    expect(violations).toEqual([]);
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
  }, 150_000);

  it("stopped for 15 s then restarted (same storage, unsealed): the same, with the connection refused", async () => {
    await world.vault.shutdown();
    let violations: string[];
    try {
      violations = await holdThroughOutage("stopped", 15_000);
    } finally {
      await world.vault.restart();
    }
    const recoveryMs = await waitFor("SecretResolved True again after the restart", resolvedEverywhere, 60_000);
    console.info(`stopped: recovered ${recoveryMs} ms after the restart`);
    expect(violations).toEqual([]);
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
  }, 150_000);

  it("made only requests that policies/credbroker.hcl allows (audit device)", async () => {
    // Stopped first, so the revoke-self of its shutdown is in the log too.
    await world.stopBrokers();
    const { rows, notAllowed, foreignGrants } = auditFindings("outages.conf.test.ts", world.brokerAudit(), `auth/${AUTH_MOUNT}/login`);
    expect(rows.length).toBeGreaterThan(0);
    expect(notAllowed).toEqual([]);
    expect(foreignGrants).toEqual([]);
  });
});
