// Shared helpers for the controller plumbing tests: polling for a condition and a client KubeConfig for the emulator.
import { KubeConfig } from "@kubernetes/client-node";
import type { KubeEmulator } from "../../src/sandbox/kube/index.js";

/** Polls `condition` every 20 ms until it holds; throws after `timeoutMs` naming `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A client-node KubeConfig pointing at the emulator as its admin user. */
export function adminKubeConfig(emulator: KubeEmulator): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(emulator.kubeconfig({ token: emulator.adminToken }));
  return kc;
}

/** A minimal valid AWS Upstream. */
export function upstream(namespace: string, name: string, region = "us-east-1"): Record<string, unknown> {
  return {
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: { name, namespace },
    spec: { aws: { region, secretRef: { name: "aws-creds", namespace } } },
  };
}

/** An Opaque Secret `aws-keys` in `namespace` holding `data` (plain text, base64-encoded here), e.g. aws_access_key_id and aws_secret_access_key. */
export function awsKeysSecret(namespace: string, data: Record<string, string>): Record<string, unknown> {
  return { apiVersion: "v1", kind: "Secret", metadata: { namespace, name: "aws-keys" }, type: "Opaque", data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")])) };
}
