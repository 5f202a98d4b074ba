import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVaultEmulator, type VaultEmulator } from "../../../src/sandbox/vault/index.js";
import { fakeReviewer } from "./fixtures.js";

const SCRIPT = fileURLToPath(new URL("../../../scripts/check-hvac.py", import.meta.url));
const POLICIES_DIR = fileURLToPath(new URL("../../../policies", import.meta.url));
const hasHvac = spawnSync("python3", ["-c", "import hvac"], { stdio: "ignore" }).status === 0;

function runScript(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [SCRIPT], { env: { ...process.env, ...env } });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("Vault emulator against Python hvac", () => {
  let vault: VaultEmulator;

  beforeAll(async () => {
    vault = await createVaultEmulator({ policiesDir: POLICIES_DIR, tokenReviewer: fakeReviewer({ "sa-jwt": "credbroker-system:credbroker" }) });
    vault.applySeed({
      secrets: [{ path: "gloo/gloo.solo.io/v1/Secret/gloo-system/aws-creds", data: { aws: { accessKey: "AKIAEXAMPLE", secretKey: "example" } } }],
      kubernetesRoles: [{ name: "credbroker", boundServiceAccountNames: ["credbroker"], boundServiceAccountNamespaces: ["credbroker-system"], policies: ["credbroker"] }],
    });
  });
  afterAll(async () => {
    await vault.close();
  });

  it.skipIf(!hasHvac)("passes every check of scripts/check-hvac.py", async () => {
    const { code, output } = await runScript({
      VAULT_ADDR: vault.url,
      VAULT_TOKEN: vault.rootToken,
      VAULT_K8S_JWT: "sa-jwt",
      VAULT_K8S_READ: "gloo/gloo.solo.io/v1/Secret/gloo-system/aws-creds",
    });
    expect(output).toContain("all hvac checks passed");
    expect(output).not.toContain("FAIL");
    expect(code).toBe(0);
    expect(vault.loginCount("kubernetes")).toBe(1);
  });

  it.skipIf(!hasHvac)("fails when the emulator misbehaves", async () => {
    vault.faults.set({ errorRate: 1, operations: ["kv list"] });
    try {
      const { code } = await runScript({ VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken });
      expect(code).not.toBe(0);
    } finally {
      vault.faults.reset();
    }
  });
});
