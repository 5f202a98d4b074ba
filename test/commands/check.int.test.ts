import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCommand, type CheckOptions } from "../../src/commands/check.js";
import { SAMPLE_AWS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { sandboxConfig } from "../support/broker-harness.js";
import { captureStream } from "../support/capture.js";

describe("credbroker check", () => {
  let sandbox: Sandbox;
  const dir = mkdtempSync(join(tmpdir(), "credbroker-check-"));
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  async function check(options: Partial<CheckOptions>): Promise<{ code: number; out: string }> {
    const sink = captureStream();
    const code = await checkCommand(sandboxConfig(sandbox, { "log.level": "silent" }), { output: "table", discover: false, out: sink.stream, ...options });
    return { code, out: sink.text() };
  }

  it("prints a table and exits 0 for a good upstream manifest, discovering on request", async () => {
    const file = join(dir, "good.yaml");
    writeFileSync(file, "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: probe, namespace: team-orders}\nspec:\n  aws: {region: us-east-1, secretRef: {name: aws-creds}}\n");
    const { code, out } = await check({ file, discover: true });
    expect(code).toBe(0);
    expect(out).toContain("STATE     Accepted");
    expect(out).toMatch(/Authenticated\s+True\s+Verified/);
    expect(out).toContain("orders-create → orders-create:$LATEST");
    expect(out).not.toContain(SAMPLE_AWS.secretAccessKey);
  });

  it("prints a hand-written entry of a manifest with the CRD's fields only: a stray field never reaches the output", async () => {
    const file = join(dir, "stray.yaml");
    const stray = "pasted-here-by-mistake-0123456789";
    writeFileSync(
      file,
      `apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: probe, namespace: team-orders}\nspec:\n  aws:\n    region: us-east-1\n    secretRef: {name: aws-creds}\n    lambdaFunctions: [{logicalName: legacy, lambdaFunctionName: legacy-fn, qualifier: "3", apiKey: ${stray}}]\n`,
    );
    for (const output of ["table", "json"] as const) {
      const { code, out } = await check({ file, discover: true, output });
      expect(code).toBe(0);
      expect(out).toContain("legacy");
      expect(out).toContain("legacy-fn");
      expect(out).not.toContain(stray);
    }
  });

  it("exits 1 for rejected credentials, with the reason, read from the cluster", async () => {
    const { code, out } = await check({ namespace: "team-orders", name: "orders-wrong-key" });
    expect(code).toBe(1);
    expect(out).toMatch(/Authenticated\s+False\s+InvalidSecretKey/);
  });

  it("writes nothing to the cluster", async () => {
    const before = sandbox.kube.counters.get("patch upstreams");
    await check({ namespace: "team-orders", name: "orders-lambda", discover: true });
    expect(sandbox.kube.counters.get("patch upstreams")).toBe(before);
    expect(sandbox.kube.get(UPSTREAMS, "team-orders", "orders-lambda")!.status).toBeUndefined();
  });

  it("prints JSON with -o json", async () => {
    const { code, out } = await check({ namespace: "team-orders", name: "orders-azure", output: "json", discover: true });
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report).toMatchObject({ upstream: "team-orders/orders-azure", kind: "azure", state: "Accepted", functions: { discovered: 3, published: 3, truncated: false } });
  });

  it("exits 2 when it cannot decide: Vault sealed", async () => {
    sandbox.vault.seal();
    try {
      const { code, out } = await check({ namespace: "team-payments", name: "payments-vault" });
      expect(code).toBe(2);
      expect(out).toMatch(/SecretResolved\s+Unknown\s+SecretSourceUnavailable/);
    } finally {
      sandbox.vault.unseal();
    }
  });

  it("finishes a paced discovery as a process of its own (waits keep it alive) and prints JSON", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "check", "--config", sandbox.info.brokerConfig, "--namespace", "team-orders", "--name", "orders-lambda", "--aws-lambda-requests-per-second", "1", "-o", "json"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ upstream: "team-orders/orders-lambda", state: "Accepted", functions: { published: 3 } });
  }, 60_000);

  it("rejects a malformed manifest naming the field", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: bad, namespace: team-orders}\nspec:\n  aws: {region: mars-1, secretRef: {name: aws-creds}}\n");
    const { code, out } = await check({ file });
    expect(code).toBe(1);
    expect(out).toContain("spec.aws.region: must be an AWS region");
  });
});
