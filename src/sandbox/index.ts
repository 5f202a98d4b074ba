// Starts the four emulators together, wired as in a cluster (Vault checks JWTs through the Kubernetes TokenReview).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createAwsEmulator, type AwsEmulator } from "./aws/index.js";
import { createAzureEmulator, type AzureEmulator } from "./azure/index.js";
import { createKubeEmulator, type KubeEmulator } from "./kube/index.js";
import { SAMPLE_AWS, SAMPLE_AZURE, sampleSeed } from "./sample-seed.js";
import type { SandboxSeed } from "./seed.js";
import { brokerConfigYaml } from "./broker-settings.js";
import { createTokenReviewClient } from "./token-review-client.js";
import { createVaultEmulator, type VaultEmulator } from "./vault/index.js";

/** Where the repository's own files (deploy/, policies/) are, whether running from src/ or dist/. */
const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface SandboxOptions {
  host?: string;
  /** First port: Kubernetes N, Vault N+1, AWS N+2, Azure N+3. 0 (default) picks free ports. */
  portBase?: number;
  /** What to load; the sample world by default. RBAC from deploy/ and policies/ are always loaded. */
  seed?: SandboxSeed;
  /** Folder for the kubeconfig files, the broker's JWT and the Azure CA; a new temporary one by default (removed on close). */
  workDir?: string;
  /** Enforce RBAC in the Kubernetes emulator (default true). */
  enforceRbac?: boolean;
}

/** The first line `credbroker sandbox --json` prints: every endpoint and sample credential. */
export interface SandboxInfo {
  /** kubeconfig of a cluster-admin user (for kubectl). */
  kubeconfig: string;
  /** kubeconfig of the broker's own service account (gloo-system/credbroker), bound by deploy/kustomize/base/rbac.yaml. */
  brokerKubeconfig: string;
  /** A `credbroker run --config` file pointing the broker at this sandbox. */
  brokerConfig: string;
  kubernetes: string;
  vault: { address: string; token: string; kubernetesRole: string; jwtFile: string };
  aws: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string; accountId: string };
  azure: {
    authorityHost: string;
    armEndpoint: string;
    caFile: string;
    tenantId: string;
    clientId: string;
    clientSecret: string;
    subscriptionId: string;
  };
}

export interface Sandbox {
  kube: KubeEmulator;
  vault: VaultEmulator;
  aws: AwsEmulator;
  azure: AzureEmulator;
  info: SandboxInfo;
  /** Applies more seed data to the running emulators. */
  seed(seed: SandboxSeed): void;
  close(): Promise<void>;
}

const BROKER_NAMESPACE = "gloo-system";
const BROKER_ACCOUNT = "credbroker";

function portAt(base: number, offset: number): number {
  return base === 0 ? 0 : base + offset;
}

/**
 * Starts the Kubernetes API, Vault, AWS and Azure emulators on loopback, loads deploy/kustomize/base RBAC,
 * policies/*.hcl and the seed, and writes the kubeconfigs, the broker's service-account JWT and
 * the Azure CA into `workDir`. I/O. Close it to stop every server.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? "127.0.0.1";
  const base = options.portBase ?? 0;
  const ownsWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), "credbroker-sandbox-")));
  const started: { close(): Promise<void> }[] = [];
  try {
    const kube = await createKubeEmulator({ host, port: portAt(base, 0), rbac: { enforce: options.enforceRbac ?? true } });
    started.push(kube);
    kube.loadRbac(await readFile(join(PROJECT_ROOT, "deploy/kustomize/base/rbac.yaml"), "utf8"));
    const reviewerToken = kube.issueServiceAccountToken("kube-system", "vault-token-reviewer");
    kube.loadRbac([
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "vault-token-reviewer" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
        subjects: [{ kind: "ServiceAccount", name: "vault-token-reviewer", namespace: "kube-system" }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "system:auth-delegator" },
        rules: [
          { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
          { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
        ],
      },
    ]);
    const vault = await createVaultEmulator({
      host,
      port: portAt(base, 1),
      policiesDir: join(PROJECT_ROOT, "policies"),
      tokenReviewer: createTokenReviewClient({ url: kube.url, caPem: kube.caPem, token: reviewerToken }),
    });
    started.push(vault);
    const aws = await createAwsEmulator({ host, port: portAt(base, 2) });
    started.push(aws);
    const azure = await createAzureEmulator({ host, port: portAt(base, 3) });
    started.push(azure);

    const apply = (seed: SandboxSeed): void => {
      if (seed.kubernetes) kube.applyMany(seed.kubernetes.objects);
      if (seed.vault) vault.applySeed(seed.vault);
      if (seed.aws) aws.applySeed(seed.aws);
      if (seed.azure) azure.applySeed(seed.azure);
    };
    apply(options.seed ?? sampleSeed());

    const brokerToken = kube.issueServiceAccountToken(BROKER_NAMESPACE, BROKER_ACCOUNT, { expirationSeconds: 7 * 24 * 3600 });
    const info: SandboxInfo = {
      kubeconfig: join(workDir, "kubeconfig"),
      brokerKubeconfig: join(workDir, "broker.kubeconfig"),
      brokerConfig: join(workDir, "credbroker.yaml"),
      kubernetes: kube.url,
      vault: { address: vault.url, token: vault.rootToken, kubernetesRole: "credbroker", jwtFile: join(workDir, "broker.jwt") },
      aws: { endpoint: aws.url, accessKeyId: SAMPLE_AWS.accessKeyId, secretAccessKey: SAMPLE_AWS.secretAccessKey, region: SAMPLE_AWS.region, accountId: SAMPLE_AWS.accountId },
      azure: {
        authorityHost: azure.authorityHost,
        armEndpoint: azure.armEndpoint,
        caFile: join(workDir, "azure-ca.pem"),
        tenantId: SAMPLE_AZURE.tenantId,
        clientId: SAMPLE_AZURE.clientId,
        clientSecret: SAMPLE_AZURE.clientSecret,
        subscriptionId: SAMPLE_AZURE.subscriptionId,
      },
    };
    await kube.writeKubeconfig(info.kubeconfig, { token: kube.adminToken });
    await kube.writeKubeconfig(info.brokerKubeconfig, { token: brokerToken, namespace: BROKER_NAMESPACE });
    await writeFile(info.vault.jwtFile, brokerToken, { mode: 0o600 });
    await azure.writeCaFile(info.azure.caFile);
    await writeFile(info.brokerConfig, brokerConfigYaml(info));

    return {
      kube,
      vault,
      aws,
      azure,
      info,
      seed: apply,
      close: async () => {
        await Promise.allSettled(started.map((s) => s.close()));
        if (ownsWorkDir) await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.close()));
    if (ownsWorkDir) await rm(workDir, { recursive: true, force: true });
    throw err;
  }
}

export { brokerSettingsFor, brokerConfigYaml } from "./broker-settings.js";
export { generateFleet, fleetKeys, type FleetOptions } from "./fleet.js";
export { parseSeed, type SandboxSeed } from "./seed.js";
export { sampleSeed, SAMPLE_AWS, SAMPLE_AZURE } from "./sample-seed.js";
