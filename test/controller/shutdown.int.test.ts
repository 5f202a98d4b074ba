import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { LEASES } from "../../src/sandbox/kube/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";

describe("graceful shutdown", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  beforeAll(async () => {
    sandbox = await startSandbox();
    broker = await startTestBroker(sandboxConfig(sandbox, { "leader.identity": "stopping-replica" }));
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it("releases the lease and revokes the Vault token it logged in for", async () => {
    await eventually("leading", () => broker.controller.isLeader(), 10_000);
    await eventually("ready", () => broker.controller.ready(), 10_000);
    await eventually("a Vault login", () => sandbox.vault.tokenCount > 0, 10_000);
    const lease = sandbox.kube.get(LEASES, "gloo-system", "credbroker")!;
    expect((lease.spec as { holderIdentity?: string }).holderIdentity).toBe("stopping-replica");

    await broker.stop();

    const released = sandbox.kube.get(LEASES, "gloo-system", "credbroker")!;
    expect((released.spec as { holderIdentity?: string }).holderIdentity ?? "").toBe("");
    expect(sandbox.vault.tokenCount).toBe(0);
    expect(broker.controller.ready()).toBe(false);
    const res = await fetch(`${broker.url}/healthz`).catch((e: unknown) => e);
    expect(res).toBeInstanceOf(Error);
  });
});
