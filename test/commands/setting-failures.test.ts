// A setting that passed validation but still cannot be used (a file gone since, a library's refusal) ends as InvalidSetting naming it, never "unexpected failure".
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkCommand } from "../../src/commands/check.js";
import { startBroker } from "../../src/commands/run.js";
import { buildConfig } from "../../src/config.js";
import { CredbrokerError } from "../../src/model/errors.js";
import { captureStream } from "../support/capture.js";

const dir = mkdtempSync(join(tmpdir(), "credbroker-setting-failures-"));
// A kubeconfig the client accepts; nothing listens on its server, and nothing here reaches it.
const kubeconfig = join(dir, "kubeconfig");
writeFileSync(
  kubeconfig,
  "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
);

async function failure(run: () => Promise<unknown>): Promise<CredbrokerError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(CredbrokerError);
    return err as CredbrokerError;
  }
  throw new Error("it did not fail");
}

describe("settings that cannot be used", () => {
  it("run: a kubeconfig the client cannot load is InvalidSetting naming the settings", async () => {
    const err = await failure(() => startBroker(buildConfig({ flags: { "kubernetes.kubeconfig": join(dir, "gone"), "http.port": "0", "log.level": "silent" } })));
    expect(err.reason).toBe("InvalidSetting");
    expect(err.message).toBe("kubernetes.kubeconfig/kubernetes.context: the Kubernetes client cannot be configured (Error)");
  });

  it("check: an extra CA file that cannot be read is InvalidSetting naming tls.extraCaFiles", async () => {
    const manifest = join(dir, "upstream.yaml");
    writeFileSync(manifest, "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: u, namespace: team}\nspec:\n  aws: {region: us-east-1, secretRef: {name: creds}}\n");
    const config = buildConfig({ flags: { "kubernetes.kubeconfig": kubeconfig, "tls.extraCaFiles": join(dir, "gone.pem"), "log.level": "silent" } });
    const err = await failure(() => checkCommand(config, { file: manifest, output: "table", discover: false, out: captureStream().stream }));
    expect(err.reason).toBe("InvalidSetting");
    expect(err.message).toMatch(/^tls\.extraCaFiles: /);
  });
});
