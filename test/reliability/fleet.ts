// The reliability fleet: every upstream kind and secret source, a few with discovery and hand-written entries, a few Rejected by design; every secret a canary.
import { createHash } from "node:crypto";
import type { JsonObject } from "../../src/model/fields.js";
import type { SandboxSeed } from "../../src/sandbox/index.js";
import type { StatusState } from "../../src/model/status.js";

export const ACCOUNT = "240987654321";
export const TENANT = "4d1c7a52-3b8e-4f60-9a1d-5e2f7c8b9a01";
export const SUBSCRIPTION = "8e2a6b1c-7d3f-4a5e-9b0c-1d2e3f4a5b6c";
const RESOURCE_GROUP = "rg-reliability";
const REGIONS = ["us-east-1", "eu-west-1"];
const SECRETS_NS = "rel-secrets";
const AZURE_NS = "rel-azure";
const VAULT_NS = "rel-vault";
const DISCOVERY = { "discovery.solo.io/function_discovery": "enabled" };

/** Functions per account and region: what a discovery upstream publishes (besides hand-written entries). */
export const FUNCTIONS_PER_REGION = 3;

const AKID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function digest(seed: string): Buffer {
  return createHash("sha256").update(`credbroker-reliability-${seed}`).digest();
}

/** A realistic access key id (not a secret: AWS prints it in CloudTrail and so may the broker). */
function accessKeyId(seed: string): string {
  return `AKIA${[...digest(seed).subarray(0, 16)].map((b) => AKID_ALPHABET[b % 32]).join("")}`;
}

/**
 * A 40-character secret key that is also a canary: a fixed marker, a `+` and a `/` (so the URL-
 * and form-encoded forms differ from the raw one), then characters derived from `seed`.
 */
function canarySecret(marker: string, seed: string): string {
  const tail = digest(seed).toString("base64").replace(/[=]/g, "x");
  return `${marker}+/${tail}`.slice(0, 40);
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

function secret(namespace: string, name: string, data: Record<string, string>, annotations: Record<string, string> = {}): JsonObject {
  return { apiVersion: "v1", kind: "Secret", metadata: { namespace, name, annotations }, type: "Opaque", data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) };
}

function upstream(namespace: string, name: string, spec: JsonObject, annotations: Record<string, string> = {}): JsonObject {
  return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace, name, annotations }, spec };
}

export type FleetKind = "aws" | "awsEc2" | "azure" | "vault";

/** What the fleet was built to be: the kind, and the state a fault-free broker must publish (with the failing condition's reason when not Accepted). */
export interface Designed {
  kind: FleetKind;
  expected: StatusState;
  reason?: string;
  /** Asks for discovery, so its function list is published. */
  discovery: boolean;
  /** The hand-written entries seeded into its spec, by name. */
  handWritten: string[];
}

export interface ReliabilityFleet {
  seed: SandboxSeed;
  /** `namespace/name` → what it was built to be. */
  upstreams: Map<string, Designed>;
  /** Canary name → secret value: every secret the fleet holds (keys, client secrets, function keys). */
  canaries: Map<string, string>;
  /** Namespaces that hold fleet upstreams. */
  namespaces: string[];
  /** AWS Lambda upstreams with discovery, for concurrent edits of their function lists. */
  editable: string[];
}

/**
 * Builds the fleet (≥ 200 upstreams). Pure and deterministic: the same call gives the same keys.
 * `awsUpstreams` Lambda upstreams over 8 credentials; 30 awsEc2, 30 Azure, 30 Vault-backed; and
 * 22 Rejected or Warning by design (wrong keys, unknown keys, missing Secrets, a wrong client
 * secret, a missing function app, a bad annotation, discovery without permission, and a key that
 * ends with a newline).
 */
export function buildReliabilityFleet(options: { awsUpstreams?: number } = {}): ReliabilityFleet {
  const awsCount = options.awsUpstreams ?? 120;
  const canaries = new Map<string, string>();
  const upstreams = new Map<string, Designed>();
  const objects: JsonObject[] = [];
  const users: { name: string; accessKeyId: string; secretAccessKey: string; lambdaRegions?: string[] }[] = [];
  const namespaces = ["rel-0", "rel-1", "rel-2", "rel-3", "rel-4", "rel-5", AZURE_NS, VAULT_NS];
  for (const name of ["gloo-system", SECRETS_NS, ...namespaces]) objects.push({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  const add = (obj: JsonObject, designed: Designed): void => {
    const m = obj.metadata as { namespace: string; name: string };
    objects.push(obj);
    upstreams.set(`${m.namespace}/${m.name}`, designed);
  };
  const awsKeys = (i: string, lambda = true) => {
    const keys = { accessKeyId: accessKeyId(`aws-${i}`), secretAccessKey: canarySecret(`RelAwsCanary${i}`, `aws-secret-${i}`) };
    users.push({ name: `rel-user-${i}`, ...keys, ...(lambda ? { lambdaRegions: REGIONS } : {}) });
    canaries.set(`aws secret key ${i}`, keys.secretAccessKey);
    return keys;
  };
  const awsSecret = (name: string, keys: { accessKeyId: string; secretAccessKey: string }) =>
    secret(SECRETS_NS, name, { aws_access_key_id: keys.accessKeyId, aws_secret_access_key: keys.secretAccessKey });

  // AWS Lambda upstreams over 8 credentials; every tenth asks for discovery, every thirtieth carries hand-written entries.
  for (let i = 0; i < 8; i++) objects.push(awsSecret(`aws-${i}`, awsKeys(String(i))));
  const editable: string[] = [];
  for (let j = 0; j < awsCount; j++) {
    const discovery = j % 10 === 0;
    const hand = j % 30 === 0 ? [{ logicalName: `by-hand-${j}`, lambdaFunctionName: `legacy-${j}`, qualifier: "7" }] : [];
    const spec: JsonObject = { aws: { region: REGIONS[j % 2] ?? "us-east-1", secretRef: { namespace: SECRETS_NS, name: `aws-${j % 8}` }, ...(hand.length > 0 ? { lambdaFunctions: hand } : {}) } };
    const ns = `rel-${j % 6}`;
    add(upstream(ns, `aws-${j}`, spec, discovery ? DISCOVERY : {}), { kind: "aws", expected: "Accepted", discovery, handWritten: hand.map((h) => h.logicalName) });
    if (discovery) editable.push(`${ns}/aws-${j}`);
  }

  // Rejected and Warning by design.
  const good = awsKeys("wrong-base");
  const wrong = { accessKeyId: good.accessKeyId, secretAccessKey: canarySecret("RelAwsWrongCanary", "aws-wrong") };
  canaries.set("aws wrong secret key", wrong.secretAccessKey);
  objects.push(awsSecret("aws-wrong", wrong));
  const unknown = { accessKeyId: accessKeyId("aws-unknown"), secretAccessKey: canarySecret("RelAwsUnknownCanary", "aws-unknown") };
  canaries.set("aws unknown key's secret", unknown.secretAccessKey);
  objects.push(awsSecret("aws-unknown", unknown));
  objects.push(awsSecret("aws-nolambda", awsKeys("nolambda", false)));
  // `kubectl create secret --from-file` keeps a file's trailing newline; Gloo would sign with it.
  const newline = awsKeys("newline");
  objects.push(awsSecret("aws-newline", { accessKeyId: newline.accessKeyId, secretAccessKey: `${newline.secretAccessKey}\n` }));
  canaries.set("aws secret key with a newline", `${newline.secretAccessKey}\n`);
  const rejected = (name: string, ref: string, reason: string, extra: { annotations?: Record<string, string>; expected?: StatusState } = {}): void => {
    add(upstream("rel-5", name, { aws: { region: "us-east-1", secretRef: { namespace: SECRETS_NS, name: ref } } }, extra.annotations ?? {}), {
      kind: "aws",
      expected: extra.expected ?? "Rejected",
      reason,
      discovery: extra.annotations?.[Object.keys(DISCOVERY)[0] ?? ""] === "enabled",
      handWritten: [],
    });
  };
  for (let k = 0; k < 3; k++) rejected(`wrong-key-${k}`, "aws-wrong", "InvalidSecretKey");
  for (let k = 0; k < 2; k++) rejected(`unknown-key-${k}`, "aws-unknown", "InvalidAccessKey");
  for (let k = 0; k < 3; k++) rejected(`missing-secret-${k}`, "aws-missing", "SecretNotFound");
  // Gloo signs with the bytes as stored, newline included: SecretMalformed, never Accepted after trimming.
  for (let k = 0; k < 2; k++) rejected(`newline-key-${k}`, "aws-newline", "SecretMalformed");
  // Discovery asked for without Lambda permission: verified, but the function list cannot be published.
  for (let k = 0; k < 2; k++) rejected(`no-lambda-${k}`, "aws-nolambda", "DiscoveryDenied", { annotations: DISCOVERY, expected: "Warning" });
  rejected("bad-annotation", "aws-0", "InvalidSpec", { annotations: { "credbroker.io/lambda-qualifiers": "latest,bogus" } });

  // awsEc2 upstreams on the same credentials.
  for (let j = 0; j < 30; j++) {
    add(upstream(`rel-${j % 6}`, `ec2-${j}`, { awsEc2: { region: REGIONS[j % 2] ?? "us-east-1", secretRef: { namespace: SECRETS_NS, name: `aws-${j % 8}` }, port: 8080 } }), {
      kind: "awsEc2",
      expected: "Accepted",
      discovery: false,
      handWritten: [],
    });
  }

  // Vault-backed AWS upstreams: six secrets in Vault under Gloo's layout, one missing, one with a wrong key.
  const vaultSecrets: { path: string; data: Record<string, unknown> }[] = [];
  const vaultSecret = (name: string, keys: { accessKeyId: string; secretAccessKey: string }) =>
    vaultSecrets.push({ path: `gloo/gloo.solo.io/v1/Secret/${VAULT_NS}/${name}`, data: { metadata: { name, namespace: VAULT_NS }, aws: { accessKey: keys.accessKeyId, secretKey: keys.secretAccessKey } } });
  const vaultKeys = [0, 1, 2, 3, 4, 5].map((i) => awsKeys(`vault-${i}`));
  vaultKeys.forEach((keys, i) => vaultSecret(`vault-aws-${i}`, keys));
  const vaultWrong = { accessKeyId: vaultKeys[0]?.accessKeyId ?? "", secretAccessKey: canarySecret("RelVaultWrongCanary", "vault-wrong") };
  canaries.set("vault wrong secret key", vaultWrong.secretAccessKey);
  vaultSecret("vault-wrong", vaultWrong);
  const fromVault = { "credbroker.io/secret-source": "vault" };
  for (let j = 0; j < 30; j++) {
    add(upstream(VAULT_NS, `vault-${j}`, { aws: { region: REGIONS[j % 2] ?? "us-east-1", secretRef: { name: `vault-aws-${j % 6}`, namespace: VAULT_NS } } }, fromVault), {
      kind: "vault",
      expected: "Accepted",
      discovery: false,
      handWritten: [],
    });
  }
  for (const [name, ref, reason] of [["vault-wrong-0", "vault-wrong", "InvalidSecretKey"], ["vault-wrong-1", "vault-wrong", "InvalidSecretKey"], ["vault-missing-0", "vault-missing", "SecretNotFound"], ["vault-missing-1", "vault-missing", "SecretNotFound"]] as const) {
    add(upstream(VAULT_NS, name, { aws: { region: "us-east-1", secretRef: { name: ref, namespace: VAULT_NS } } }, fromVault), { kind: "vault", expected: "Rejected", reason, discovery: false, handWritten: [] });
  }

  // Azure: six principals, three function apps (two principals each), Gloo's key Secret per app.
  const principals: { clientId: string; clientSecret: string }[] = [];
  const apps: { name: string; allowedPrincipals: string[]; masterKey: string; functions: { name: string; authLevel: "function" | "anonymous"; key?: string }[] }[] = [];
  const uuid = (seed: string): string => {
    const h = digest(seed).toString("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  for (let p = 0; p < 6; p++) {
    const principal = { clientId: uuid(`principal-${p}`), clientSecret: `RelAzSecretCanary${p}~${digest(`client-secret-${p}`).toString("base64url").slice(0, 24)}` };
    principals.push(principal);
    canaries.set(`azure client secret ${p}`, principal.clientSecret);
    objects.push(
      secret(AZURE_NS, `sp-${p}`, {
        azure_tenant_id: TENANT,
        azure_client_id: principal.clientId,
        azure_client_secret: principal.clientSecret,
        azure_subscription_id: SUBSCRIPTION,
        azure_resource_group: RESOURCE_GROUP,
      }),
    );
  }
  const wrongSp = `RelAzWrongCanary~${digest("client-secret-wrong").toString("base64url").slice(0, 24)}`;
  canaries.set("azure wrong client secret", wrongSp);
  objects.push(
    secret(AZURE_NS, "sp-wrong", { azure_tenant_id: TENANT, azure_client_id: principals[0]?.clientId ?? "", azure_client_secret: wrongSp, azure_subscription_id: SUBSCRIPTION, azure_resource_group: RESOURCE_GROUP }),
  );
  for (let a = 0; a < 3; a++) {
    const masterKey = `RelAzMasterCanary${a}${digest(`master-${a}`).toString("base64").slice(0, 30)}`;
    const fnKey = `RelAzFnKeyCanary${a}${digest(`fn-key-${a}`).toString("base64").slice(0, 30)}`;
    canaries.set(`azure master key ${a}`, masterKey);
    canaries.set(`azure function key ${a}`, fnKey);
    apps.push({
      name: `rel-app-${a}`,
      allowedPrincipals: [principals[2 * a]?.clientId ?? "", principals[2 * a + 1]?.clientId ?? ""],
      masterKey,
      functions: [
        { name: "create-order", authLevel: "function", key: fnKey },
        { name: "list-orders", authLevel: "anonymous" },
      ],
    });
    objects.push(secret(AZURE_NS, `keys-${a}`, { azure: `apiKeys:\n  create-order: ${fnKey}\n  _master: ${masterKey}\n` }, { resource_kind: "*v1.Secret" }));
  }
  for (let j = 0; j < 30; j++) {
    const a = j % 3;
    const discovery = j % 5 === 0;
    const hand = j % 15 === 0 ? [{ functionName: `by-hand-${j}`, authLevel: "Anonymous" }] : [];
    add(
      upstream(AZURE_NS, `az-${j}`, { azure: { functionAppName: `rel-app-${a}`, secretRef: { name: `keys-${a}`, namespace: AZURE_NS }, ...(hand.length > 0 ? { functions: hand } : {}) } }, {
        ...(discovery ? DISCOVERY : {}),
        "credbroker.io/azure-credentials": `sp-${2 * a + (j % 2)}`,
      }),
      { kind: "azure", expected: "Accepted", discovery, handWritten: hand.map((h) => h.functionName) },
    );
  }
  for (let k = 0; k < 3; k++) {
    add(upstream(AZURE_NS, `az-wrong-secret-${k}`, { azure: { functionAppName: "rel-app-0", secretRef: { name: "keys-0", namespace: AZURE_NS } } }, { "credbroker.io/azure-credentials": "sp-wrong" }), {
      kind: "azure",
      expected: "Rejected",
      reason: "AzureAuthFailed",
      discovery: false,
      handWritten: [],
    });
  }
  for (let k = 0; k < 2; k++) {
    add(upstream(AZURE_NS, `az-no-app-${k}`, { azure: { functionAppName: "no-such-app", secretRef: { name: "keys-0", namespace: AZURE_NS } } }, { "credbroker.io/azure-credentials": "sp-0" }), {
      kind: "azure",
      expected: "Rejected",
      reason: "FunctionAppNotFound",
      discovery: false,
      handWritten: [],
    });
  }

  return {
    seed: {
      kubernetes: { objects },
      aws: { accounts: [{ id: ACCOUNT, users, generatedFunctions: REGIONS.map((region) => ({ region, count: FUNCTIONS_PER_REGION, prefix: "rel" })) }] },
      azure: {
        tenants: [{ id: TENANT, principals }],
        subscriptions: [{ id: SUBSCRIPTION, resourceGroups: [{ name: RESOURCE_GROUP, functionApps: apps }] }],
      },
      vault: {
        secrets: vaultSecrets,
        kubernetesRoles: [
          { name: "credbroker", boundServiceAccountNames: ["credbroker"], boundServiceAccountNamespaces: ["gloo-system"], policies: ["credbroker"], ttlSeconds: 3600, maxTtlSeconds: 86400 },
        ],
      },
    },
    upstreams,
    canaries,
    namespaces,
    editable,
  };
}
