// Runs scripts/check-kubectl.sh, the kubectl cross-check of the sandbox's Kubernetes emulator, against a real kube-apiserver with Gloo's CRD: the script's expectations hold on both.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRealCluster, type TestCluster } from "../support/cluster.js";

const script = fileURLToPath(new URL("../../scripts/check-kubectl.sh", import.meta.url));

describe("kubectl against a real kube-apiserver", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startRealCluster();
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("passes the same scripts/check-kubectl.sh as the emulator", async () => {
    const { stdout } = await promisify(execFile)("bash", [script, cluster.controlPlane!.adminKubeconfig, "default"], { timeout: 90_000 });
    expect(stdout).toContain("check-kubectl: all checks passed");
  }, 120_000);
});
