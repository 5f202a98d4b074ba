// `credbroker run` against the sandbox: a SIGTERM that arrives while the broker is still starting stops it gracefully once up.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../src/commands/run.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { LEASES } from "../../src/sandbox/kube/index.js";
import { sandboxConfig } from "../support/broker-harness.js";

describe("credbroker run", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it("stops gracefully on a SIGTERM received during start-up: exit code 0, no Vault token left, lease not held", async () => {
    const loginsBefore = sandbox.vault.loginCount("kubernetes");
    const exit = runCommand(sandboxConfig(sandbox, { "leader.identity": "starting-replica", "log.level": "silent" }));
    // Still inside start-up (runCommand has not returned to the event loop yet): a command that
    // installed its handlers only once started would miss this and wait forever.
    process.emit("SIGTERM", "SIGTERM");
    expect(await exit).toBe(0);
    // Start-up logged in to Vault, and the stop revoked that token.
    expect(sandbox.vault.loginCount("kubernetes")).toBe(loginsBefore + 1);
    expect(sandbox.vault.tokenCount).toBe(0);
    // The stop came before the first campaign, or released the lease it won: nobody holds it.
    const lease = sandbox.kube.get(LEASES, "gloo-system", "credbroker");
    expect((lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? "").toBe("");
  }, 30_000);
});
