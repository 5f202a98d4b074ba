// Every verdict a Vault secret can earn, on a real Vault in Gloo's KV v2 layout, with the broker logged in through a real TokenReview.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditFindings } from "./audit-policy.js";
import { AUTH_MOUNT, condition, GOOD_KEYS, loginsIn, requestsIn, sleep, startVaultWorld, waitFor, WRONG_KEYS, type VaultWorld } from "./world.js";

const NS = "verdicts";
const FORBIDDEN_NS = "forbidden";

describe("verdicts from a real Vault", () => {
  let world: VaultWorld;

  beforeAll(async () => {
    world = await startVaultWorld();
    await world.writeSecret(NS, "good", GOOD_KEYS);
    await world.writeSecret(NS, "wrong", WRONG_KEYS);
    await world.writeSecret(NS, "soft", GOOD_KEYS);
    await world.deleteLatest(NS, "soft");
    await world.writeSecret(NS, "latest-deleted", GOOD_KEYS);
    await world.writeSecret(NS, "latest-deleted", GOOD_KEYS);
    await world.deleteLatest(NS, "latest-deleted");
    await world.writeSecret(NS, "gone", GOOD_KEYS);
    await world.destroy(NS, "gone", [1]);
    await world.addUpstreams(NS, [
      ["good", "good"],
      ["wrong-key", "wrong"],
      ["missing", "absent"],
      ["soft-deleted", "soft"],
      ["latest-deleted", "latest-deleted"],
      ["destroyed", "gone"],
    ]);
  });
  afterAll(async () => {
    await world?.close();
  });

  it("gives good keys Accepted, a wrong key Rejected, and a missing, soft-deleted or destroyed secret SecretNotFound, with one login for all", async () => {
    const started = Date.now();
    await world.startBroker({ "kubernetes.namespaces": NS });
    const expected: Record<string, string> = { good: "Accepted", "wrong-key": "Rejected", missing: "Rejected", "soft-deleted": "Rejected", "latest-deleted": "Rejected", destroyed: "Rejected" };
    await waitFor("every verdict", async () => {
      for (const [name, state] of Object.entries(expected)) if ((await world.status(NS, name))?.state !== state) return false;
      return true;
    });

    const good = await world.status(NS, "good");
    expect(condition(good, "SecretResolved")).toMatchObject({ status: "True", reason: "Resolved" });
    expect(condition(good, "Authenticated")).toMatchObject({ status: "True" });
    const wrong = await world.status(NS, "wrong-key");
    expect(condition(wrong, "SecretResolved")).toMatchObject({ status: "True", reason: "Resolved" });
    expect(condition(wrong, "Authenticated")).toMatchObject({ status: "False", reason: "InvalidSecretKey" });
    for (const name of ["missing", "soft-deleted", "latest-deleted", "destroyed"]) {
      expect(condition(await world.status(NS, name), "SecretResolved"), name).toMatchObject({ status: "False", reason: "SecretNotFound" });
    }

    const audit = world.brokerAudit();
    expect(loginsIn(audit, started)).toHaveLength(1);
    const reads = requestsIn(audit, /^secret\/data\/gloo\/gloo\.solo\.io\/v1\/Secret\/verdicts\//, started);
    expect(new Set(reads.map((r) => r.path.split("/").pop())).size).toBe(6);
  }, 120_000);

  it("notices a rotation in Vault within the poll interval: the wrong key fixed turns Accepted", async () => {
    const fixedAt = Date.now();
    await world.writeSecret(NS, "wrong", GOOD_KEYS);
    const tookMs = await waitFor("wrong-key accepted after rotation", async () => (await world.status(NS, "wrong-key"))?.state === "Accepted", 20_000);
    // Poll interval 1 s, then one reconcile.
    expect(tookMs).toBeLessThan(10_000);
    expect(loginsIn(world.brokerAudit(), fixedAt)).toHaveLength(0);
    await world.stopBrokers();
  }, 60_000);

  it("gives a path the policy forbids BrokerNotAuthorized (the broker's policy, never a verdict), retried with backoff, said once in the log", async () => {
    // Another broker whose layout (root key) lies outside policies/credbroker.hcl, on its own namespace.
    await world.writeSecret(FORBIDDEN_NS, "keys", GOOD_KEYS, "elsewhere");
    await world.addUpstreams(FORBIDDEN_NS, [["forbidden", "keys"]]);
    const broker = await world.startBroker({ "kubernetes.namespaces": FORBIDDEN_NS, "vault.rootKey": "elsewhere", "controller.backoffMaxMs": "4s" });
    await waitFor("forbidden refused", async () => condition(await world.status(FORBIDDEN_NS, "forbidden"), "SecretResolved")?.reason === "BrokerNotAuthorized");
    const refused = await world.status(FORBIDDEN_NS, "forbidden");
    expect(condition(refused, "SecretResolved")).toMatchObject({ status: "Unknown", reason: "BrokerNotAuthorized" });
    expect(condition(refused, "SecretResolved")?.message).toContain("policies/credbroker.hcl");
    // No verdict before, none now: Pending, not Rejected.
    expect(refused?.state).toBe("Pending");

    const refusedAt = Date.now();
    await sleep(15_000);
    const path = `secret/data/elsewhere/gloo.solo.io/v1/Secret/${FORBIDDEN_NS}/keys`;
    const reads = requestsIn(world.brokerAudit(), path, refusedAt);
    // Retried with backoff (100 ms doubling to 4 s, jittered), not in a storm: a handful of reads in 15 s (about 8 at most), at least one.
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.length).toBeLessThanOrEqual(10);
    const answers = world.brokerAudit().filter((e) => e.type === "response" && e.path === path);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((r) => r.error.includes("permission denied"))).toBe(true);
    expect((await world.status(FORBIDDEN_NS, "forbidden"))?.state).toBe("Pending");
    // One line for the streak, however many refusals it took.
    expect(broker.logs.filter((l) => l.includes("Vault refuses the broker's own identity"))).toHaveLength(1);
    expect(broker.logs.filter((l) => l.includes("Vault unavailable"))).toHaveLength(0);
    await world.stopBrokers();
  }, 90_000);

  it("made only requests that policies/credbroker.hcl allows (audit device)", async () => {
    // Stopped first, so the revoke-self of its shutdown is in the log too.
    await world.stopBrokers();
    const { rows, notAllowed, foreignGrants } = auditFindings("verdicts.conf.test.ts", world.brokerAudit(), `auth/${AUTH_MOUNT}/login`, [/^read secret\/data\/elsewhere\//]);
    expect(rows.length).toBeGreaterThan(0);
    expect(notAllowed).toEqual([]);
    expect(foreignGrants).toEqual([]);
  });
});
