import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";

describe("credbroker sandbox --json", () => {
  it("prints one JSON object with every endpoint first, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "sandbox", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
    });
    const info = JSON.parse(first);
    expect(Object.keys(info).sort()).toEqual(["aws", "azure", "brokerConfig", "brokerKubeconfig", "kubeconfig", "kubernetes", "vault"]);
    expect(info.kubernetes).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(info.vault).toMatchObject({ address: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), token: expect.any(String) });
    expect(info.aws).toMatchObject({ endpoint: expect.any(String), accessKeyId: expect.any(String), secretAccessKey: expect.any(String), region: "us-east-1" });
    expect(info.azure).toMatchObject({ authorityHost: expect.stringMatching(/^https:/), armEndpoint: expect.stringMatching(/^https:/), caFile: expect.any(String), tenantId: expect.any(String) });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 60_000);
});
