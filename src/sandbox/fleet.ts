// Generated fleets for benchmarks and scale tests: N upstreams over M AWS credentials with K functions per region.
import { createHash } from "node:crypto";
import type { JsonObject } from "../model/fields.js";
import type { AzureSeedFunctionApp } from "./azure/seed.js";
import type { SandboxSeed } from "./seed.js";

export interface FleetOptions {
  upstreams: number;
  credentials: number;
  /** Lambda functions per account and region. */
  functionsPerRegion: number;
  regions?: string[];
  namespaces?: number;
  accountId?: string;
  /** Ask for function discovery on every upstream. */
  discovery?: boolean;
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Deterministic, realistic-looking keys for credential `i` (the same fleet always has the same keys). */
export function fleetKeys(i: number): { accessKeyId: string; secretAccessKey: string } {
  const digest = createHash("sha256").update(`credbroker-fleet-${i}`).digest();
  const id = [...digest.subarray(0, 16)].map((b) => ALNUM[b % 32]).join("");
  const secret = createHash("sha256").update(`secret-${i}`).digest("base64").replace(/[+=]/g, "x").slice(0, 40);
  return { accessKeyId: `AKIA${id}`, secretAccessKey: secret };
}

/**
 * Builds the seed of a fleet: namespaces `fleet-<n>`, Secrets `aws-<i>` (current format) in
 * `fleet-0`, Upstreams `u-<j>` spread round-robin over credentials and regions. Pure; O(N).
 */
export function generateFleet(options: FleetOptions): SandboxSeed {
  const regions = options.regions ?? ["us-east-1", "eu-west-1"];
  const namespaces = Math.max(1, options.namespaces ?? 10);
  const accountId = options.accountId ?? "210987654321";
  const objects: JsonObject[] = [];
  for (let n = 0; n < namespaces; n++) objects.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: `fleet-${n}` } });
  const users = [];
  for (let i = 0; i < options.credentials; i++) {
    const keys = fleetKeys(i);
    users.push({ name: `fleet-user-${i}`, ...keys, lambdaRegions: regions });
    objects.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { namespace: "fleet-0", name: `aws-${i}` },
      type: "Opaque",
      data: {
        aws_access_key_id: Buffer.from(keys.accessKeyId).toString("base64"),
        aws_secret_access_key: Buffer.from(keys.secretAccessKey).toString("base64"),
      },
    });
  }
  for (let j = 0; j < options.upstreams; j++) {
    const cred = j % Math.max(1, options.credentials);
    const region = regions[Math.floor(j / Math.max(1, options.credentials)) % regions.length] ?? "us-east-1";
    objects.push({
      apiVersion: "gloo.solo.io/v1",
      kind: "Upstream",
      metadata: {
        namespace: `fleet-${j % namespaces}`,
        name: `u-${j}`,
        annotations: options.discovery === true ? { "discovery.solo.io/function_discovery": "enabled" } : {},
      },
      spec: { aws: { region, secretRef: { namespace: "fleet-0", name: `aws-${cred}` } } },
    });
  }
  return {
    kubernetes: { objects },
    aws: {
      accounts: [
        {
          id: accountId,
          users,
          ...(options.functionsPerRegion > 0 ? { generatedFunctions: regions.map((region) => ({ region, count: options.functionsPerRegion, prefix: "fn" })) } : {}),
        },
      ],
    },
  };
}

/** The cloud mix of a fleet-scale run: fractions of the cloud upstreams, each type with one credential per `upstreamsPerCredential`. */
export interface MixedFleetOptions {
  /** Cloud upstreams (AWS Lambda, Azure and awsEc2 together). */
  cloudUpstreams: number;
  /** Kube-type upstreams added besides, as Gloo's service discovery creates them (default: as many as the cloud ones). */
  kubeUpstreams?: number;
  namespaces?: number;
  /** Default 0.8 and 0.15; awsEc2 takes the rest. */
  awsFraction?: number;
  azureFraction?: number;
  upstreamsPerCredential?: number;
  regions?: string[];
  /** Lambda functions per account and region, each with `functionVersions` published versions and a `live` alias on the last. */
  functionsPerRegion?: number;
  functionVersions?: number;
  /** AWS credentials (IAM users) per account: Lambda's quota is per account and region, so this sets how many credentials share one. */
  credentialsPerAccount?: number;
  /** Fraction of cloud upstreams that ask for function discovery (every other one at 0.5). */
  discoveryFraction?: number;
}

/** One credential Secret of a mixed fleet, and the upstreams that use it: what a churn phase rotates and watches. */
export interface FleetCredential {
  kind: "aws" | "awsEc2" | "azure";
  /** `namespace/name` of the Secret. */
  secret: string;
  /** Index for fleetKeys (AWS) or azureFleetPrincipal (Azure). */
  index: number;
  accountId: string;
  /** `namespace/name` of every upstream that uses it. */
  upstreams: string[];
  /** Regions its upstreams are in (AWS only). */
  regions: string[];
  /** Regions in which at least one of its upstreams asks for discovery (AWS Lambda only). */
  discoveryRegions: string[];
}

export interface MixedFleet {
  seed: SandboxSeed;
  credentials: FleetCredential[];
  /** `namespace/name` of every upstream, by type. */
  upstreams: { aws: string[]; azure: string[]; awsEc2: string[]; kube: string[] };
  /** Azure upstreams that ask for discovery (each is its own function app). */
  azureDiscovery: number;
  functionsPerRegion: number;
  functionVersions: number;
}

const FLEET_TENANT = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const FLEET_SUBSCRIPTION = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

function uuidFrom(text: string): string {
  const h = createHash("sha256").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Deterministic Entra principal `p` of a mixed fleet (tenant, client id and secret). */
export function azureFleetPrincipal(p: number): { tenantId: string; clientId: string; clientSecret: string; subscriptionId: string; resourceGroup: string } {
  const clientSecret = createHash("sha256").update(`azure-secret-${p}`).digest("base64").replace(/[+/=]/g, "x").slice(0, 40);
  return { tenantId: FLEET_TENANT, clientId: uuidFrom(`azure-client-${p}`), clientSecret, subscriptionId: FLEET_SUBSCRIPTION, resourceGroup: `rg-fleet-${p}` };
}

/** Keys of AWS credential `i` after `rotation` rotations (rotation 0 is fleetKeys(i)). */
export function rotatedFleetKeys(i: number, rotation: number): { accessKeyId: string; secretAccessKey: string } {
  return rotation === 0 ? fleetKeys(i) : fleetKeys(i * 1_000 + rotation + 1_000_000_000);
}

/** The Secret holding AWS keys in the current format, as a fleet stores it. */
export function awsKeySecret(namespace: string, name: string, keys: { accessKeyId: string; secretAccessKey: string }): JsonObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { namespace, name },
    type: "Opaque",
    data: { aws_access_key_id: Buffer.from(keys.accessKeyId).toString("base64"), aws_secret_access_key: Buffer.from(keys.secretAccessKey).toString("base64") },
  };
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

/**
 * Builds a fleet-scale world: cloud upstreams over `namespaces` namespaces (80% AWS Lambda,
 * 15% Azure, 5% awsEc2 by default), each type with one credential per 20 upstreams; AWS
 * credentials grouped into accounts whose every region holds `functionsPerRegion` functions with
 * versions and an alias; every Azure upstream its own function app in its principal's resource
 * group; discovery on every other cloud upstream; plus kube-type upstreams that credbroker only
 * has to hold as keys. Pure; O(upstreams + functions).
 */
export function generateMixedFleet(options: MixedFleetOptions): MixedFleet {
  const total = Math.max(0, Math.floor(options.cloudUpstreams));
  const namespaces = Math.max(1, options.namespaces ?? 50);
  const regions = options.regions ?? ["us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"];
  const perCredential = Math.max(1, options.upstreamsPerCredential ?? 20);
  const functionsPerRegion = options.functionsPerRegion ?? 100;
  const functionVersions = options.functionVersions ?? 2;
  const perAccount = Math.max(1, options.credentialsPerAccount ?? 10);
  const discoveryEvery = (options.discoveryFraction ?? 0.5) <= 0 ? Infinity : Math.max(1, Math.round(1 / (options.discoveryFraction ?? 0.5)));
  const awsCount = Math.round(total * (options.awsFraction ?? 0.8));
  const azureCount = Math.min(total - awsCount, Math.round(total * (options.azureFraction ?? 0.15)));
  const ec2Count = total - awsCount - azureCount;
  const kubeCount = Math.max(0, Math.floor(options.kubeUpstreams ?? total));

  const objects: JsonObject[] = [];
  for (let n = 0; n < namespaces; n++) objects.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: `fleet-${n}` } });
  const credentials: FleetCredential[] = [];
  const upstreams: MixedFleet["upstreams"] = { aws: [], azure: [], awsEc2: [], kube: [] };
  const accountOf = (cred: number) => String(300_000_000_000 + Math.floor(cred / perAccount)).padStart(12, "0");
  const accounts = new Map<string, { id: string; users: { name: string; accessKeyId: string; secretAccessKey: string; lambdaRegions: string[] }[] }>();
  let ordinal = 0;
  const nextUpstream = (): { namespace: string; name: string; discovery: boolean } => {
    const j = ordinal++;
    return { namespace: `fleet-${j % namespaces}`, name: `u-${j}`, discovery: j % discoveryEvery === 0 };
  };
  const discoveryAnnotations = (on: boolean): Record<string, string> => (on ? { "discovery.solo.io/function_discovery": "enabled" } : {});

  // AWS credentials are numbered across Lambda and awsEc2, so fleetKeys(i) stays unique.
  const addAwsType = (kind: "aws" | "awsEc2", count: number): void => {
    const first = credentials.filter((c) => c.kind === "aws" || c.kind === "awsEc2").length;
    const creds = Math.ceil(count / perCredential);
    for (let c = 0; c < creds; c++) {
      const index = first + c;
      const accountId = accountOf(index);
      const keys = fleetKeys(index);
      const account = accounts.get(accountId) ?? { id: accountId, users: [] };
      accounts.set(accountId, account);
      account.users.push({ name: `fleet-user-${index}`, ...keys, lambdaRegions: regions });
      objects.push(awsKeySecret("fleet-0", `aws-${index}`, keys));
      credentials.push({ kind, secret: `fleet-0/aws-${index}`, index, accountId, upstreams: [], regions: [], discoveryRegions: [] });
    }
    for (let k = 0; k < count; k++) {
      const cred = credentials[credentials.length - creds + Math.floor(k / perCredential)] as FleetCredential;
      const region = regions[k % regions.length] ?? "us-east-1";
      const u = nextUpstream();
      const discovery = u.discovery;
      const spec = kind === "aws" ? { aws: { region, secretRef: { namespace: "fleet-0", name: `aws-${cred.index}` } } } : { awsEc2: { region, secretRef: { namespace: "fleet-0", name: `aws-${cred.index}` }, port: 8080 } };
      objects.push({ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: u.namespace, name: u.name, annotations: discoveryAnnotations(discovery) }, spec });
      const key = `${u.namespace}/${u.name}`;
      cred.upstreams.push(key);
      if (!cred.regions.includes(region)) cred.regions.push(region);
      if (kind === "aws" && discovery && !cred.discoveryRegions.includes(region)) cred.discoveryRegions.push(region);
      upstreams[kind].push(key);
    }
  };
  addAwsType("aws", awsCount);

  const principals = Math.ceil(azureCount / perCredential);
  const tenantPrincipals: { clientId: string; clientSecret: string }[] = [];
  const groups: { name: string; functionApps: AzureSeedFunctionApp[] }[] = [];
  let azureDiscovery = 0;
  for (let p = 0; p < principals; p++) {
    const sp = azureFleetPrincipal(p);
    tenantPrincipals.push({ clientId: sp.clientId, clientSecret: sp.clientSecret });
    const masterKey = createHash("sha256").update(`azure-master-${p}`).digest("base64");
    const functionKey = createHash("sha256").update(`azure-fn-${p}`).digest("base64");
    objects.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { namespace: "fleet-0", name: `azure-sp-${p}` },
      type: "Opaque",
      data: { azure_tenant_id: b64(sp.tenantId), azure_client_id: b64(sp.clientId), azure_client_secret: b64(sp.clientSecret), azure_subscription_id: b64(sp.subscriptionId), azure_resource_group: b64(sp.resourceGroup) },
    });
    objects.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { namespace: "fleet-0", name: `azure-keys-${p}`, annotations: { resource_kind: "*v1.Secret" } },
      type: "Opaque",
      data: { azure: b64(`apiKeys:\n  http-fn: ${functionKey}\n  _master: ${masterKey}\n`) },
    });
    const cred: FleetCredential = { kind: "azure", secret: `fleet-0/azure-sp-${p}`, index: p, accountId: sp.subscriptionId, upstreams: [], regions: [], discoveryRegions: [] };
    credentials.push(cred);
    const apps: AzureSeedFunctionApp[] = [];
    for (let k = p * perCredential; k < Math.min(azureCount, (p + 1) * perCredential); k++) {
      const u = nextUpstream();
      const app = `app-fleet-${k}`;
      apps.push({ name: app, allowedPrincipals: [sp.clientId], masterKey, functions: [{ name: "http-fn", authLevel: "function", key: functionKey }, { name: "public-fn", authLevel: "anonymous" }] });
      objects.push({
        apiVersion: "gloo.solo.io/v1",
        kind: "Upstream",
        metadata: { namespace: u.namespace, name: u.name, annotations: { ...discoveryAnnotations(u.discovery), "credbroker.io/azure-credentials": `fleet-0/azure-sp-${p}` } },
        spec: { azure: { functionAppName: app, secretRef: { namespace: "fleet-0", name: `azure-keys-${p}` } } },
      });
      if (u.discovery) azureDiscovery++;
      cred.upstreams.push(`${u.namespace}/${u.name}`);
      upstreams.azure.push(`${u.namespace}/${u.name}`);
    }
    groups.push({ name: sp.resourceGroup, functionApps: apps });
  }

  addAwsType("awsEc2", ec2Count);

  for (let k = 0; k < kubeCount; k++) {
    const namespace = `fleet-${k % namespaces}`;
    const name = `${namespace}-svc-${k}-8080`;
    objects.push({ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace, name, labels: { discovered_by: "kubernetesplugin" } }, spec: { kube: { serviceName: `svc-${k}`, serviceNamespace: namespace, servicePort: 8080 } } });
    upstreams.kube.push(`${namespace}/${name}`);
  }

  const functions = (region: string) =>
    Array.from({ length: functionsPerRegion }, (_, f) => ({
      region,
      name: `fn-${String(f + 1).padStart(4, "0")}`,
      ...(functionVersions > 0 ? { versions: functionVersions, aliases: [{ name: "live", version: functionVersions }] } : {}),
    }));
  return {
    seed: {
      kubernetes: { objects },
      aws: { accounts: [...accounts.values()].map((a) => ({ ...a, ...(functionsPerRegion > 0 ? { functions: regions.flatMap(functions) } : {}) })) },
      ...(principals > 0 ? { azure: { tenants: [{ id: FLEET_TENANT, principals: tenantPrincipals }], subscriptions: [{ id: FLEET_SUBSCRIPTION, resourceGroups: groups }] } } : {}),
    },
    credentials,
    upstreams,
    azureDiscovery,
    functionsPerRegion,
    functionVersions,
  };
}
