// The Vault suite's world: a real kube-apiserver, a real Vault configured by deploy/vault/setup.sh, Gloo's KV v2 layout, and brokers logging in with a projected service-account token.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { Config } from "../../../src/config.js";
import type { JsonObject } from "../../../src/model/fields.js";
import { readOwnStatus } from "../../../src/model/status.js";
import { SAMPLE_AWS } from "../../../src/sandbox/index.js";
import { startTestBroker, type HarnessBroker } from "../../support/broker-harness.js";
import { startRealCluster, type TestCluster } from "../../support/cluster.js";
import type { ControlPlane } from "../servers/control-plane.js";
import { startVault, type RealVault, type VaultAuditEntry } from "../servers/vault-server.js";
import { startTcpLink, type TcpLink } from "./tcp-link.js";

const run = promisify(execFile);
const ROOT = new URL("../../../", import.meta.url).pathname;
export const SETUP_SCRIPT = join(ROOT, "deploy/vault/setup.sh");
export const AUTH_MOUNT = "kubernetes";
export const ROLE = "credbroker";
/** The audience the broker's projected token carries and the role demands. */
export const AUDIENCE = "vault";
export const GOOD_KEYS = { accessKey: SAMPLE_AWS.accessKeyId, secretKey: SAMPLE_AWS.secretAccessKey } as const;
export const WRONG_KEYS = { accessKey: SAMPLE_AWS.accessKeyId, secretKey: "not/the/right/secret/key/EXAMPLEKEY000000" } as const;

export type Condition = { type: string; status: string; reason: string; message?: string; lastTransitionTime?: string };
export type OwnStatus = { state: string; reason: string; conditions: Condition[]; lastVerified: string | undefined };

export interface SetupSettings {
  tokenTtl?: string;
  tokenMaxTtl?: string;
  /** The policy setup.sh writes as credbroker (POLICY_FILE); default policies/credbroker.hcl. */
  policyFile?: string;
}

export interface VaultWorld {
  cluster: TestCluster;
  controlPlane: ControlPlane;
  vault: RealVault;
  /** Vault's way to the Kubernetes API (kubernetes_host points at it): cut() makes every TokenReview fail. */
  kubeLink: TcpLink;
  /** The broker's projected service-account token (TokenRequest, audience `vault`). */
  jwtFile: string;
  /** Runs deploy/vault/setup.sh against this Vault and cluster (as the install docs do); returns its output. */
  configure(settings?: SetupSettings): Promise<string>;
  /** Writes a Gloo Secret (KV v2, Gloo's layout) under `rootKey` (default gloo) as root; returns the new version. */
  writeSecret(namespace: string, name: string, aws: { accessKey: string; secretKey: string }, rootKey?: string): Promise<number>;
  /** Soft-deletes the latest version (DELETE <mount>/data/...). */
  deleteLatest(namespace: string, name: string): Promise<void>;
  /** Destroys `versions` for good (PUT <mount>/destroy/...). */
  destroy(namespace: string, name: string, versions: number[]): Promise<void>;
  /** Namespace (if missing) and one AWS upstream per [upstream name, secret name] in it. */
  addUpstreams(namespace: string, pairs: readonly (readonly [string, string])[]): Promise<void>;
  /** Setting path → value of a broker reading secrets from this Vault only. */
  brokerFlags(extra?: Record<string, unknown>): Record<string, unknown>;
  brokerConfig(extra?: Record<string, unknown>): Config;
  /** An in-process broker (stopped by stopBrokers() / close()). */
  startBroker(extra?: Record<string, unknown>): Promise<HarnessBroker>;
  stopBrokers(): Promise<void>;
  status(namespace: string, name: string): Promise<OwnStatus | undefined>;
  /** Sets credbroker.io/reverify to a new value. */
  reverify(namespace: string, name: string, token: string): Promise<void>;
  /** Audit entries of the broker's requests: logins at its mount, and requests with a token a login there issued (live or dead). */
  brokerAudit(): VaultAuditEntry[];
  /** Tokens Vault holds for the broker's role now (root: list accessors, look each up). */
  brokerAccessors(): Promise<string[]>;
  close(): Promise<void>;
}

/** Starts the world (about 20 s: apiserver, etcd, Vault, setup.sh). Throws after undoing what it started. */
export async function startVaultWorld(settings: SetupSettings = {}): Promise<VaultWorld> {
  const dir = await mkdtemp(join(tmpdir(), "credbroker-vault-world-"));
  const cluster = await startRealCluster();
  const brokers: HarnessBroker[] = [];
  let vault: RealVault | undefined;
  let kubeLink: TcpLink | undefined;
  try {
    const controlPlane = cluster.controlPlane!;
    await cluster.seed({
      aws: { accounts: [{ id: SAMPLE_AWS.accountId, users: [{ name: "gateway", accessKeyId: SAMPLE_AWS.accessKeyId, secretAccessKey: SAMPLE_AWS.secretAccessKey, lambdaRegions: ["us-east-1"] }] }] },
    });
    kubeLink = await startTcpLink(Number(new URL(controlPlane.server).port));
    vault = await startVault({ logDir: dir });

    // Vault's own identity for TokenReview, as in a cluster: a service account bound to system:auth-delegator.
    const binding = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "vault-auth-delegator" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
      subjects: [{ kind: "ServiceAccount", name: "vault-auth", namespace: "vault" }],
    };
    const reviewerJwt = await controlPlane.serviceAccountToken("vault", "vault-auth", { expirationSeconds: 24 * 3600 });
    const bound = await controlPlane.request({ method: "POST", path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", body: binding });
    if (bound.status !== 201 && bound.status !== 409) throw new Error(`binding vault-auth to system:auth-delegator answered ${bound.status}`);
    const reviewerJwtFile = join(dir, "reviewer.jwt");
    await writeFile(reviewerJwtFile, reviewerJwt, { mode: 0o600 });

    const jwtFile = join(dir, "broker.jwt");
    await writeFile(jwtFile, await controlPlane.serviceAccountToken("gloo-system", "credbroker", { audiences: [AUDIENCE], expirationSeconds: 3600 }), { mode: 0o600 });

    const v = vault;
    const link = kubeLink;
    const root = v.rootToken;
    const configure = async (s: SetupSettings = {}): Promise<string> => {
      const env = {
        ...process.env,
        PATH: `${dirname(v.binary)}:${process.env["PATH"] ?? ""}`,
        VAULT_ADDR: v.address,
        VAULT_TOKEN: root,
        KUBERNETES_HOST: `https://127.0.0.1:${link.port}`,
        KUBERNETES_CA_CERT: controlPlane.caFile,
        TOKEN_REVIEWER_JWT_FILE: reviewerJwtFile,
        DISABLE_LOCAL_CA_JWT: "true",
        AUDIENCE,
        TOKEN_TTL: s.tokenTtl ?? "1h",
        TOKEN_MAX_TTL: s.tokenMaxTtl ?? "24h",
        ...(s.policyFile === undefined ? {} : { POLICY_FILE: s.policyFile }),
      };
      const { stdout, stderr } = await run("bash", [SETUP_SCRIPT], { env, timeout: 60_000 });
      return stdout + stderr;
    };
    await configure(settings);

    const secretPath = (namespace: string, name: string, rootKey = "gloo"): string => `${rootKey}/gloo.solo.io/v1/Secret/${namespace}/${name}`;
    const must = async (method: string, path: string, body?: unknown): Promise<unknown> => {
      const res = await v.request(method, path, body, root);
      if (res.status >= 300) throw new Error(`vault ${method} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body;
    };
    const brokerFlags = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
      cluster.brokerFlags({
        "secrets.sources": "vault",
        "vault.address": v.address,
        "vault.authMethod": "kubernetes",
        "vault.authMount": AUTH_MOUNT,
        "vault.role": ROLE,
        "vault.jwtFile": jwtFile,
        "vault.pollIntervalMs": "1s",
        "controller.globalRatePerSecond": 1000,
        "log.level": "info",
        ...extra,
      });
    const stopBrokers = async (): Promise<void> => {
      await Promise.all(brokers.splice(0).map((b) => b.stop()));
    };
    const vaultRef = vault;
    const linkRef = kubeLink;
    return {
      cluster,
      controlPlane,
      vault: v,
      kubeLink: link,
      jwtFile,
      configure,
      writeSecret: async (namespace, name, aws, rootKey) => {
        const body = (await must("POST", `/v1/secret/data/${secretPath(namespace, name, rootKey)}`, { data: { metadata: { name, namespace }, aws } })) as { data?: { version?: number } };
        return body.data?.version ?? 0;
      },
      deleteLatest: async (namespace, name) => void (await must("DELETE", `/v1/secret/data/${secretPath(namespace, name)}`)),
      destroy: async (namespace, name, versions) => void (await must("PUT", `/v1/secret/destroy/${secretPath(namespace, name)}`, { versions })),
      addUpstreams: async (namespace, pairs) => {
        await cluster.apply([
          { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
          ...pairs.map(([upstream, secret]): JsonObject => ({
            apiVersion: "gloo.solo.io/v1",
            kind: "Upstream",
            metadata: { namespace, name: upstream },
            spec: { aws: { region: "us-east-1", secretRef: { namespace, name: secret } } },
          })),
        ]);
      },
      brokerFlags,
      brokerConfig: (extra) => cluster.brokerConfig(brokerFlags(extra)),
      startBroker: async (extra) => {
        const broker = await startTestBroker(cluster.brokerConfig(brokerFlags(extra)));
        brokers.push(broker);
        return broker;
      },
      stopBrokers,
      status: async (namespace, name) => {
        const own = readOwnStatus(await cluster.upstream(namespace, name), "credbroker");
        if (own === undefined) return undefined;
        return { state: own.state, reason: own.reason, conditions: own.details.conditions, lastVerified: own.details.lastVerified };
      },
      reverify: async (namespace, name, token) => {
        await cluster.patchUpstream(namespace, name, { metadata: { annotations: { "credbroker.io/reverify": `${token}-${Date.now()}` } } });
      },
      brokerAudit: () => {
        const entries = v.readAudit();
        // A request with a dead (revoked, expired) token carries no policies: it is known by its token's
        // HMAC in request.client_token, the same as in the requests it made while the token lived.
        const tokens = new Set([
          ...entries.filter((e) => e.issuedToken !== "" && e.issuedPolicies.includes("credbroker")).map((e) => e.issuedToken),
          ...entries.filter((e) => e.clientToken !== "" && e.policies.includes("credbroker")).map((e) => e.clientToken),
        ]);
        return entries.filter((e) => e.path === `auth/${AUTH_MOUNT}/login` || e.policies.includes("credbroker") || tokens.has(e.clientToken));
      },
      brokerAccessors: async () => {
        const list = await v.request("LIST", "/v1/auth/token/accessors", undefined, root);
        const accessors = (list.body as { data?: { keys?: string[] } }).data?.keys ?? [];
        const ours: string[] = [];
        for (const accessor of accessors) {
          const info = await v.request("POST", "/v1/auth/token/lookup-accessor", { accessor }, root);
          const policies = (info.body as { data?: { policies?: string[] } }).data?.policies ?? [];
          if (info.status === 200 && policies.includes("credbroker")) ours.push(accessor);
        }
        return ours;
      },
      close: async () => {
        await stopBrokers().catch(() => undefined);
        await vaultRef.stop();
        await linkRef.close();
        await cluster.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(brokers.map((b) => b.stop().catch(() => undefined)));
    await vault?.stop();
    await kubeLink?.close();
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

export const condition = (s: OwnStatus | undefined, type: string): Condition | undefined => s?.conditions.find((c) => c.type === type);

/** Polls an async probe until it holds; throws naming `what` after `timeoutMs`. Returns the time it took. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 200): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Request entries of the broker in [fromMs, toMs) at `path` (exact, or a RegExp). */
export function requestsIn(entries: readonly VaultAuditEntry[], path: string | RegExp, fromMs = 0, toMs = Number.POSITIVE_INFINITY): VaultAuditEntry[] {
  return entries.filter((e) => e.type === "request" && (typeof path === "string" ? e.path === path : path.test(e.path)) && e.timeMs >= fromMs && e.timeMs < toMs);
}

/** Successful logins (responses that issued a token with the broker's policy) in [fromMs, toMs). */
export function loginsIn(entries: readonly VaultAuditEntry[], fromMs = 0, toMs = Number.POSITIVE_INFINITY): VaultAuditEntry[] {
  return entries.filter((e) => e.type === "response" && e.path === `auth/${AUTH_MOUNT}/login` && e.error === "" && e.issuedPolicies.includes("credbroker") && e.timeMs >= fromMs && e.timeMs < toMs);
}
