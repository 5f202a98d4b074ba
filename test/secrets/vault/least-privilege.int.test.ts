// policies/credbroker.hcl grants exactly what the broker uses: with it the broker reads; without its read grant, it cannot.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SecretRef } from "../../../src/model/upstream.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { silentSecretsTelemetry } from "../../../src/runtime/telemetry.js";
import { parsePolicyHcl } from "../../../src/sandbox/vault/hcl.js";
import { awsFlat, toVaultData } from "../fixtures.js";
import { captureLog } from "../log-capture.js";
import { glooVaultPath, startSandbox, type Sandbox } from "../sandbox.js";
import { brokerSettings, buildSource, type BuiltSource } from "./harness.js";

const POLICY = readFileSync(new URL("../../../policies/credbroker.hcl", import.meta.url), "utf8");
const ref: SecretRef = { namespace: "gloo-system", name: "aws-creds" };
const log = captureLog();

/** The policy as HCL again, from rules. */
function hcl(rules: { path: string; capabilities: string[] }[]): string {
  return rules.map((r) => `path "${r.path}" {\n  capabilities = [${r.capabilities.map((c) => `"${c}"`).join(", ")}]\n}\n`).join("\n");
}

describe("least privilege", () => {
  let sandbox: Sandbox;
  const clock = new FakeClock();
  const built: BuiltSource[] = [];
  beforeAll(async () => {
    sandbox = await startSandbox({ clock: clock.now });
    sandbox.vault.putSecret("secret", glooVaultPath(ref.namespace, ref.name), toVaultData(ref, awsFlat()));
  });
  afterAll(async () => {
    for (const b of built) await b.source.stop();
    await sandbox.close();
  });
  const readWith = async (policy: string) => {
    sandbox.vault.writePolicy("credbroker", policy);
    const b = await buildSource(brokerSettings(sandbox), { clock, logger: log.logger, telemetry: silentSecretsTelemetry() });
    built.push(b);
    return b.source.resolve({ ref, fresh: true });
  };

  it("reads a Gloo secret with the policy as shipped", async () => {
    await expect(readWith(POLICY)).resolves.toMatchObject({ source: "vault" });
  });

  // A read needs only the KV rule; the token rules (lookup-self, renew-self, revoke-self) are proven
  // one by one on a real Vault by test/conformance/vault/least-privilege.conf.test.ts.
  const rules = parsePolicyHcl(POLICY).filter((r) => !r.path.startsWith("auth/token/"));
  const without = rules.flatMap((rule, i) =>
    rule.capabilities.map((capability) => ({
      name: `${rule.path} without ${capability}`,
      rules: rules.map((r, j) => (j === i ? { ...r, capabilities: r.capabilities.filter((c) => c !== capability) } : r)).filter((r) => r.capabilities.length > 0),
    })),
  );

  it("has grants to remove", () => {
    expect(without.length).toBeGreaterThan(0);
  });

  it.each(without)("is refused (BrokerNotAuthorized, retryable) with $name", async ({ rules: reduced }) => {
    await expect(readWith(hcl(reduced))).rejects.toMatchObject({ reason: "BrokerNotAuthorized", retryable: true });
  });
});
