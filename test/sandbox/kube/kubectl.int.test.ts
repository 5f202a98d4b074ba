// Runs scripts/check-kubectl.sh (kubectl apply/get/patch/watch/delete) against a running emulator, when kubectl is installed.
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeEmulator, type KubeEmulator } from "../../../src/sandbox/kube/index.js";

function kubectlInstalled(): boolean {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const hasKubectl = kubectlInstalled();
const script = fileURLToPath(new URL("../../../scripts/check-kubectl.sh", import.meta.url));
let emu: KubeEmulator;
let dir: string;

beforeAll(async () => {
  emu = await createKubeEmulator();
  dir = await mkdtemp(join(tmpdir(), "kube-emulator-"));
});

afterAll(async () => {
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

describe("kubectl against the emulator", () => {
  it.skipIf(!hasKubectl)("passes scripts/check-kubectl.sh with an admin kubeconfig", async () => {
    const kubeconfig = join(dir, "kubeconfig");
    await emu.writeKubeconfig(kubeconfig, { token: emu.adminToken, namespace: "default" });
    expect(await readFile(kubeconfig, "utf8")).toContain("certificate-authority-data");
    const { stdout } = await promisify(execFile)("bash", [script, kubeconfig, "default"], { timeout: 60_000 });
    expect(stdout).toContain("check-kubectl: all checks passed");
    expect(emu.counters.get("watch upstreams")).toBeGreaterThan(0);
    expect(emu.counters.get("patch upstreams", "ok")).toBeGreaterThanOrEqual(3);
  });

  it.skipIf(!hasKubectl)("is refused by RBAC when the kubeconfig holds the broker's token", async () => {
    emu.loadRbac(await readFile(new URL("../../../deploy/kustomize/base/rbac.yaml", import.meta.url), "utf8"));
    const kubeconfig = join(dir, "broker-kubeconfig");
    await emu.writeKubeconfig(kubeconfig, { token: emu.issueServiceAccountToken("gloo-system", "credbroker"), namespace: "default" });
    const run = promisify(execFile)("kubectl", ["--kubeconfig", kubeconfig, "delete", "upstreams.gloo.solo.io", "anything", "-n", "default"], { timeout: 30_000 });
    await expect(run).rejects.toMatchObject({ stderr: expect.stringContaining('cannot delete resource "upstreams" in API group "gloo.solo.io" in the namespace "default"') });
  });
});
