// TokenReview failing for 30 s across a re-login (Vault's Kubernetes auth then answers 403 to every login): no upstream leaves its verdict, and logins are backed off.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isReason, isTransientReason } from "../../../src/model/reasons.js";
import { auditFindings } from "./audit-policy.js";
import { AUTH_MOUNT, condition, GOOD_KEYS, loginsIn, requestsIn, sleep, startVaultWorld, waitFor, type OwnStatus, type VaultWorld } from "./world.js";

const NS = "review";
const UPSTREAMS = ["r1", "r2", "r3", "r4"] as const;
const FAULT_MS = 30_000;
/** Login attempts allowed during a 30 s fault: backed off, far fewer than one a second. */
const MAX_LOGINS_IN_FAULT = 10;
const LOGIN = `auth/${AUTH_MOUNT}/login`;

describe("TokenReview failing under a real Vault across a re-login", () => {
  let world: VaultWorld;

  const statuses = async (): Promise<Map<string, OwnStatus | undefined>> => new Map(await Promise.all(UPSTREAMS.map(async (n) => [n, await world.status(NS, n)] as const)));
  const resolvedEverywhere = async (): Promise<boolean> => [...(await statuses()).values()].every((s) => s?.state === "Accepted" && condition(s, "SecretResolved")?.status === "True");
  /** Every upstream Accepted and no condition False: a failed login is about the broker, never a verdict. */
  const verdictViolations = (at: string, all: Map<string, OwnStatus | undefined>): string[] =>
    [...all].flatMap(([name, s]) => [
      ...(s?.state === "Accepted" ? [] : [`${at} ${name}: state ${s?.state} (${s?.reason})`]),
      ...(s?.conditions ?? []).filter((c) => c.status === "False").map((c) => `${at} ${name}: ${c.type} False ${c.reason}`),
    ]);

  beforeAll(async () => {
    // The token lives 10 s at most, so a 30 s fault spans two or three re-logins.
    world = await startVaultWorld({ tokenTtl: "10s", tokenMaxTtl: "10s" });
    for (const name of UPSTREAMS) await world.writeSecret(NS, `keys-${name}`, GOOD_KEYS);
    await world.addUpstreams(NS, UPSTREAMS.map((name) => [name, `keys-${name}`] as const));
    await world.startBroker({ "controller.backoffMaxMs": "5s" });
    await waitFor("every upstream accepted", resolvedEverywhere);
  });
  afterAll(async () => {
    await world?.close();
  });

  it("Vault cut off from the Kubernetes API for 30 s, forced re-verifications meanwhile: every upstream keeps Accepted, logins are backed off", async () => {
    const linkUsed = world.kubeLink.accepted();
    expect(linkUsed).toBeGreaterThan(0); // the logins so far went through the link
    const cutAt = Date.now();
    await world.kubeLink.cut();
    const violations: string[] = [];
    const sawNonVerdict = new Set<string>();
    let restoredAt: number;
    try {
      // By 12 s the token has passed its max TTL: every read needs a new login, and every login fails.
      let forced = false;
      for (let second = 1; Date.now() - cutAt < FAULT_MS; second++) {
        await sleep(1_000);
        if (!forced && Date.now() - cutAt >= 12_000) {
          for (const name of UPSTREAMS) await world.reverify(NS, name, "review-cut");
          forced = true;
        }
        const all = await statuses();
        violations.push(...verdictViolations(`${second}s`, all));
        for (const [name, s] of all) {
          const c = condition(s, "SecretResolved");
          if (forced && c?.status === "Unknown" && isReason(c.reason) && isTransientReason(c.reason)) sawNonVerdict.add(name);
        }
      }
    } finally {
      await world.kubeLink.restore();
      restoredAt = Date.now();
    }
    const attempts = requestsIn(world.brokerAudit(), LOGIN, cutAt, restoredAt);
    const failed = world.brokerAudit().filter((e) => e.type === "response" && e.path === LOGIN && e.error !== "" && e.timeMs >= cutAt && e.timeMs < restoredAt);
    console.info(`Kubernetes API cut off from Vault for ${restoredAt - cutAt} ms: ${attempts.length} login attempts (${failed.length} refused: ${[...new Set(failed.map((e) => e.error.trim()))].join(" | ")})`);
    expect(violations).toEqual([]);
    // The forced passes met the failing login and said so without a verdict.
    expect([...sawNonVerdict].sort()).toEqual([...UPSTREAMS]);
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.length).toBeLessThanOrEqual(MAX_LOGINS_IN_FAULT);
    expect(loginsIn(world.brokerAudit(), cutAt, restoredAt)).toHaveLength(0);
    // Failed logins back off up to 30 s, so the first successful one may come that long after the fault.
    const recoveryMs = await waitFor("SecretResolved True again after the link is restored", resolvedEverywhere, 60_000);
    console.info(`recovered ${recoveryMs} ms after the link came back`);
  }, 180_000);

  it("the kube-apiserver killed for 30 s across a re-login, then restarted: no upstream leaves its verdict, logins are backed off", async () => {
    await waitFor("every upstream resolved before the kill", resolvedEverywhere, 60_000);
    const controlPlane = world.controlPlane;
    const killedAt = Date.now();
    await controlPlane.killApiServer();
    let restartedAt: number;
    try {
      await sleep(FAULT_MS);
    } finally {
      await controlPlane.startApiServer();
      restartedAt = Date.now();
    }
    const attempts = requestsIn(world.brokerAudit(), LOGIN, killedAt, restartedAt);
    console.info(`kube-apiserver down for ${restartedAt - killedAt} ms: ${attempts.length} login attempts`);

    const violations: string[] = [];
    for (let second = 1; second <= 20; second++) {
      violations.push(...verdictViolations(`+${second}s`, await statuses()));
      await sleep(1_000);
    }
    await waitFor("SecretResolved True again after the restart", resolvedEverywhere, 60_000);

    expect(violations).toEqual([]);
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.length).toBeLessThanOrEqual(MAX_LOGINS_IN_FAULT);
    expect(loginsIn(world.brokerAudit(), killedAt, restartedAt)).toHaveLength(0);
  }, 180_000);

  it("made only requests that policies/credbroker.hcl allows (audit device)", async () => {
    // Stopped first, so the revoke-self of its shutdown is in the log too.
    await world.stopBrokers();
    const { rows, notAllowed, foreignGrants } = auditFindings("token-review.conf.test.ts", world.brokerAudit(), LOGIN);
    expect(rows.map((r) => r.request)).toContain(`update ${LOGIN}`);
    expect(notAllowed).toEqual([]);
    expect(foreignGrants).toEqual([]);
  });
});
