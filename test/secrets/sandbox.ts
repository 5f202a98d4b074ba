// Test helper: Kubernetes and Vault emulators wired together (Vault's kubernetes login reviews JWTs through the kube emulator).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createKubeEmulator, type KubeEmulator } from "../../src/sandbox/kube/index.js";
import { createVaultEmulator, type TokenReviewer, type VaultEmulator } from "../../src/sandbox/vault/index.js";

export const POLICIES_DIR = resolve(import.meta.dirname, "../../policies");
export const BROKER_NAMESPACE = "credbroker-system";
export const BROKER_ACCOUNT = "credbroker";

/** Reviews a JWT by POSTing a TokenReview to the kube emulator as its admin, as Vault's kubernetes auth does with the API server. */
export function kubeTokenReviewer(kube: KubeEmulator): TokenReviewer {
  return async (jwt) => {
    const body = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: jwt } });
    const review = (await postJson(kube, "/apis/authentication.k8s.io/v1/tokenreviews", body)) as {
      status?: { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[] } };
    };
    const user = review.status?.user;
    return {
      authenticated: review.status?.authenticated === true,
      ...(user?.username === undefined ? {} : { username: user.username }),
      ...(user?.uid === undefined ? {} : { uid: user.uid }),
      ...(user?.groups === undefined ? {} : { groups: user.groups }),
    };
  };
}

/** POSTs JSON to the kube emulator as its admin, trusting its self-signed certificate. */
function postJson(kube: KubeEmulator, path: string, body: string): Promise<unknown> {
  const url = new URL(path, kube.url);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: { authorization: `Bearer ${kube.adminToken}`, "content-type": "application/json" },
        ...(kube.caPem === undefined ? {} : { ca: kube.caPem }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`TokenReview answered HTTP ${res.statusCode}`));
          else resolvePromise(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown);
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export interface Sandbox {
  kube: KubeEmulator;
  vault: VaultEmulator;
  dir: string;
  /** File holding the broker's service-account JWT (what the kubelet projects). */
  jwtFile: string;
  close(): Promise<void>;
}

/** Starts both emulators on free ports with policies/ loaded, and a `credbroker` kubernetes role bound to policy credbroker. */
export async function startSandbox(options: { clock?: () => number; ttlSeconds?: number; maxTtlSeconds?: number } = {}): Promise<Sandbox> {
  const kube = await createKubeEmulator();
  const vault = await createVaultEmulator({ tokenReviewer: kubeTokenReviewer(kube), policiesDir: POLICIES_DIR, ...(options.clock ? { clock: options.clock } : {}) });
  vault.configureKubernetesRole("kubernetes", "credbroker", {
    boundServiceAccountNames: [BROKER_ACCOUNT],
    boundServiceAccountNamespaces: [BROKER_NAMESPACE],
    policies: ["credbroker"],
    ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
    ...(options.maxTtlSeconds === undefined ? {} : { maxTtlSeconds: options.maxTtlSeconds }),
  });
  const dir = await mkdtemp(join(tmpdir(), "credbroker-secrets-"));
  const jwtFile = join(dir, "token");
  await writeFile(jwtFile, kube.issueServiceAccountToken(BROKER_NAMESPACE, BROKER_ACCOUNT), { mode: 0o600 });
  return {
    kube,
    vault,
    dir,
    jwtFile,
    close: async () => {
      await Promise.all([kube.close(), vault.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Gloo's KV v2 path of a secret, relative to the mount (what VaultEmulator.putSecret takes). */
export function glooVaultPath(namespace: string, name: string): string {
  return `gloo/gloo.solo.io/v1/Secret/${namespace}/${name}`;
}
