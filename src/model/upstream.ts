// Typed Upstreams: the cloud-provider subset of Gloo's Upstream CRD, parsed from untrusted objects.
import { ValidationError } from "./errors.js";
import {
  DNS_LABEL_RULE,
  DNS_SUBDOMAIN_RULE,
  FieldReader,
  isDnsLabel,
  isDnsSubdomain,
  isObject,
  type JsonObject,
} from "./fields.js";
import { echoName } from "./text.js";

export const UPSTREAM_GROUP = "gloo.solo.io";
export const UPSTREAM_VERSION = "v1";
export const UPSTREAM_PLURAL = "upstreams";
export const UPSTREAM_KIND = "Upstream";

export interface SecretRef {
  name: string;
  /** Defaults to the upstream's namespace. */
  namespace: string;
}

export interface LambdaFunctionSpec {
  logicalName: string;
  lambdaFunctionName: string;
  qualifier?: string;
}

export const AZURE_AUTH_LEVELS = ["Anonymous", "Function", "Admin"] as const;
export type AzureAuthLevel = (typeof AZURE_AUTH_LEVELS)[number];

export interface AzureFunctionSpec {
  functionName: string;
  authLevel: AzureAuthLevel;
}

export interface AwsSpec {
  region: string;
  secretRef?: SecretRef;
  lambdaFunctions: LambdaFunctionSpec[];
  roleArn?: string;
  awsAccountId?: string;
  disableRoleChaining?: boolean;
}

export interface AzureSpec {
  functionAppName: string;
  secretRef?: SecretRef;
  functions: AzureFunctionSpec[];
}

export interface AwsEc2Spec {
  region: string;
  secretRef?: SecretRef;
  roleArn?: string;
  publicIp?: boolean;
  port?: number;
}

export interface UpstreamMeta {
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The discriminated union every `switch` over upstream kinds must handle exhaustively. */
export type CloudUpstream =
  | { kind: "aws"; meta: UpstreamMeta; spec: AwsSpec }
  | { kind: "azure"; meta: UpstreamMeta; spec: AzureSpec }
  | { kind: "awsEc2"; meta: UpstreamMeta; spec: AwsEc2Spec };

export type UpstreamKind = CloudUpstream["kind"];
export const CLOUD_UPSTREAM_KINDS: readonly UpstreamKind[] = ["aws", "azure", "awsEc2"];

/** Where an upstream keeps the function list credbroker publishes, `spec.<type>.<list>`, entries named by `key` (each provider says, per kind). */
export interface FunctionListField {
  type: string;
  list: string;
  /** The entry field that names an entry (unique within the list, never containing a comma). */
  key: string;
  /** The entry fields of Gloo's CRD: all `check` ever prints of an entry (a file's stray field stays unprinted). */
  fields: readonly string[];
  /**
   * Pure, optional: an entry in its canonical form, for comparison only (entries are written as
   * stored). Where the CRD accepts two spellings of one value (Azure's authLevel as 1 or
   * "Function"), a stored spelling that differs from credbroker's must not count as a change, or
   * a writer restoring its spelling and credbroker would take turns forever.
   */
  canonical?: (entry: object) => object;
}


/** An upstream of a type credbroker does not handle (static, kube, gcp, ...). */
export interface OtherUpstream {
  kind: "other";
  meta: UpstreamMeta;
  /** The spec key that names its type, or undefined when none was found. */
  upstreamType: string | undefined;
}

export type ParsedUpstream = CloudUpstream | OtherUpstream;

export function upstreamKey(meta: { namespace: string; name: string }): string {
  return `${meta.namespace}/${meta.name}`;
}

export function assertNever(value: never, what = "value"): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}

const r = new FieldReader("InvalidSpec");

// Keys of spec that are settings common to every upstream type rather than the type itself.
const COMMON_SPEC_KEYS = new Set([
  "sslConfig", "circuitBreakers", "loadBalancerConfig", "connectionConfig", "healthChecks",
  "outlierDetection", "useHttp2", "failover", "initialStreamWindowSize", "initialConnectionWindowSize",
  "maxConcurrentStreams", "httpProxyHostname", "httpConnectSslConfig", "httpConnectHeaders",
  "ignoreHealthOnHostRemoval", "respectDnsTtl", "dnsRefreshRate", "proxyProtocolVersion",
  "protocolSelection", "perConnectionBufferLimitBytes", "preconnectPolicy", "discoveryMetadata",
  "disableIstioAutoMtls", "httpProxyConfig", "overrideStreamErrorOnInvalidHttpMessage",
  "http2ProtocolOptions", "namespacedStatuses",
]);

/**
 * The members of Gloo's `upstream_type` oneof, as spec keys (the spec properties of
 * gloo/upstream-crd.yaml that are upstream types rather than settings common to all of them).
 */
export const UPSTREAM_TYPE_KEYS: readonly string[] = ["ai", "aws", "awsEc2", "azure", "consul", "gcp", "kube", "pipe", "static"];

/** "aws and static", "aws, azure and static". */
function listed(names: readonly string[]): string {
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1] ?? ""}`;
}

/**
 * Gloo's upstream type is a protobuf oneof, but the CRD schema cannot say so: an object may carry
 * two. Gloo rejects such an upstream; credbroker does too (InvalidSpec naming them) when one of them
 * is a type it manages, rather than guessing which one the author meant. A combination of types it
 * does not manage (kube and static) is not its to judge, and stays `other`.
 */
function checkSingleType(spec: JsonObject): void {
  const set = UPSTREAM_TYPE_KEYS.filter((k) => spec[k] !== undefined && spec[k] !== null);
  if (set.length > 1 && set.some((k) => (CLOUD_UPSTREAM_KINDS as readonly string[]).includes(k))) {
    r.fail("spec", `exactly one upstream type may be set, found ${listed(set)}`);
  }
}

/**
 * Parses an Upstream object (as the API server returns it). Pure; throws ValidationError with
 * reason `InvalidSpec` and the field path when a cloud spec is malformed, or when a cloud type is
 * set together with another upstream type. Types other than aws/azure/awsEc2 come back as
 * `kind: "other"` without inspecting their spec.
 */
export function parseUpstream(obj: unknown): ParsedUpstream {
  const root = r.object(obj, "upstream");
  const meta = parseMeta(root.metadata);
  const spec = r.optionalObject(root.spec, "spec") ?? {};
  checkSingleType(spec);
  if (spec.aws !== undefined && spec.aws !== null) return { kind: "aws", meta, spec: parseAws(spec.aws, meta.namespace) };
  if (spec.azure !== undefined && spec.azure !== null) return { kind: "azure", meta, spec: parseAzure(spec.azure, meta.namespace) };
  if (spec.awsEc2 !== undefined && spec.awsEc2 !== null) return { kind: "awsEc2", meta, spec: parseAwsEc2(spec.awsEc2, meta.namespace) };
  const upstreamType = Object.keys(spec).find((k) => !COMMON_SPEC_KEYS.has(k));
  return { kind: "other", meta, upstreamType };
}

/** "type static is not aws, azure or awsEc2": why credbroker leaves an upstream alone. Pure. */
export function notManagedBecause(u: OtherUpstream): string {
  return `type ${u.upstreamType === undefined ? "unknown" : echoName(u.upstreamType)} is not ${listed(CLOUD_UPSTREAM_KINDS.slice(0, -1)).replace(/ and /, ", ")} or ${CLOUD_UPSTREAM_KINDS.at(-1) ?? ""}`;
}

/** True for the upstream types credbroker verifies. */
export function isCloudUpstream(u: ParsedUpstream): u is CloudUpstream {
  return u.kind !== "other";
}

function parseMeta(value: unknown): UpstreamMeta {
  const m = r.object(value, "metadata");
  // Names are checked as the API server checks them: only a file given to `check -f` can break
  // them, and every message that names the upstream repeats them.
  const meta: UpstreamMeta = {
    namespace: namespaceName(m.namespace, "metadata.namespace"),
    name: objectName(m.name, "metadata.name"),
    labels: r.stringMap(m.labels, "metadata.labels"),
    annotations: r.stringMap(m.annotations, "metadata.annotations"),
  };
  const uid = r.optionalString(m.uid, "metadata.uid");
  if (uid !== undefined) meta.uid = uid;
  const rv = r.optionalString(m.resourceVersion, "metadata.resourceVersion");
  if (rv !== undefined) meta.resourceVersion = rv;
  const generation = r.optionalInteger(m.generation, "metadata.generation", 0, Number.MAX_SAFE_INTEGER);
  if (generation !== undefined) meta.generation = generation;
  return meta;
}

const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;

function parseRegion(value: unknown, field: string): string {
  const region = r.string(value, field);
  if (!REGION_PATTERN.test(region)) r.fail(field, "must be an AWS region such as us-east-1");
  return region;
}

/** Parses a `secretRef`; the namespace defaults to the upstream's. Exported for annotations that name secrets. */
export function parseSecretRef(value: unknown, field: string, defaultNamespace: string): SecretRef | undefined {
  const ref = r.optionalObject(value, field);
  if (ref === undefined) return undefined;
  // Checked here, not left to the API server: an illegal name is a mistake in the spec
  // (InvalidSpec), not a Secret that happens to be missing (SecretNotFound).
  const name = objectName(ref.name, `${field}.name`);
  const namespace = ref.namespace === undefined || ref.namespace === null || ref.namespace === "" ? defaultNamespace : namespaceName(ref.namespace, `${field}.namespace`);
  return { name, namespace };
}

/** A Kubernetes object name (DNS-1123 subdomain). Throws InvalidSpec on `field`, never echoing the value. */
function objectName(value: unknown, field: string): string {
  const name = r.string(value, field);
  if (!isDnsSubdomain(name)) r.fail(field, `must be a Kubernetes object name: ${DNS_SUBDOMAIN_RULE}`);
  return name;
}

/** A Kubernetes namespace (DNS-1123 label). Throws InvalidSpec on `field`, never echoing the value. */
function namespaceName(value: unknown, field: string): string {
  const namespace = r.string(value, field);
  if (!isDnsLabel(namespace)) r.fail(field, `must be a Kubernetes namespace: ${DNS_LABEL_RULE}`);
  return namespace;
}

const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;

function parseRoleArn(value: unknown, field: string): string | undefined {
  const arn = r.optionalString(value, field);
  if (arn !== undefined && !ROLE_ARN_PATTERN.test(arn)) r.fail(field, "must be an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)");
  return arn;
}

function parseAws(value: unknown, namespace: string): AwsSpec {
  const aws = r.object(value, "spec.aws");
  const spec: AwsSpec = {
    region: parseRegion(aws.region, "spec.aws.region"),
    lambdaFunctions: r.optionalArray(aws.lambdaFunctions, "spec.aws.lambdaFunctions").map((item, i) => {
      const field = `spec.aws.lambdaFunctions[${i}]`;
      const f = r.object(item, field);
      const fn: LambdaFunctionSpec = {
        logicalName: r.string(f.logicalName, `${field}.logicalName`),
        lambdaFunctionName: r.string(f.lambdaFunctionName, `${field}.lambdaFunctionName`),
      };
      const qualifier = r.optionalString(f.qualifier, `${field}.qualifier`);
      if (qualifier !== undefined) fn.qualifier = qualifier;
      return fn;
    }),
  };
  const secretRef = parseSecretRef(aws.secretRef, "spec.aws.secretRef", namespace);
  if (secretRef) spec.secretRef = secretRef;
  const roleArn = parseRoleArn(aws.roleArn, "spec.aws.roleArn");
  if (roleArn !== undefined) spec.roleArn = roleArn;
  const account = r.optionalString(aws.awsAccountId, "spec.aws.awsAccountId");
  if (account !== undefined) {
    if (!/^\d{12}$/.test(account)) r.fail("spec.aws.awsAccountId", "must be a 12-digit AWS account id");
    spec.awsAccountId = account;
  }
  const disable = r.optionalBoolean(aws.disableRoleChaining, "spec.aws.disableRoleChaining");
  if (disable !== undefined) spec.disableRoleChaining = disable;
  return spec;
}

/** Accepts the enum name or Gloo's integer encoding (0 Anonymous, 1 Function, 2 Admin). */
export function parseAuthLevel(value: unknown, field: string): AzureAuthLevel {
  if (value === undefined || value === null) return "Anonymous";
  if (typeof value === "number" && Number.isInteger(value)) {
    const level = AZURE_AUTH_LEVELS[value];
    if (level !== undefined) return level;
  }
  if (typeof value === "string") {
    if (/^\d+$/.test(value)) return parseAuthLevel(Number(value), field);
    const level = AZURE_AUTH_LEVELS.find((l) => l.toLowerCase() === value.toLowerCase());
    if (level !== undefined) return level;
  }
  return r.fail(field, "must be Anonymous, Function, Admin or 0, 1, 2");
}

// Azure app names are host names (<name>.azurewebsites.net): 2 to 60 letters, digits and '-'.
// One character is let through: Azure refuses to create it, so such an app is simply not found.
const FUNCTION_APP_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,58}[A-Za-z0-9])?$/;

function functionAppName(value: unknown, field: string): string {
  const name = r.string(value, field);
  if (!FUNCTION_APP_NAME.test(name)) r.fail(field, "must be an Azure function app name: letters, digits and '-', starting and ending with a letter or digit, at most 60 characters");
  return name;
}

function parseAzure(value: unknown, namespace: string): AzureSpec {
  const azure = r.object(value, "spec.azure");
  const spec: AzureSpec = {
    functionAppName: functionAppName(azure.functionAppName, "spec.azure.functionAppName"),
    functions: r.optionalArray(azure.functions, "spec.azure.functions").map((item, i) => {
      const field = `spec.azure.functions[${i}]`;
      const f = r.object(item, field);
      return {
        functionName: r.string(f.functionName, `${field}.functionName`),
        authLevel: parseAuthLevel(f.authLevel, `${field}.authLevel`),
      };
    }),
  };
  const secretRef = parseSecretRef(azure.secretRef, "spec.azure.secretRef", namespace);
  if (secretRef) spec.secretRef = secretRef;
  return spec;
}

function parseAwsEc2(value: unknown, namespace: string): AwsEc2Spec {
  const ec2 = r.object(value, "spec.awsEc2");
  const spec: AwsEc2Spec = { region: parseRegion(ec2.region, "spec.awsEc2.region") };
  const secretRef = parseSecretRef(ec2.secretRef, "spec.awsEc2.secretRef", namespace);
  if (secretRef) spec.secretRef = secretRef;
  const roleArn = parseRoleArn(ec2.roleArn, "spec.awsEc2.roleArn");
  if (roleArn !== undefined) spec.roleArn = roleArn;
  const publicIp = r.optionalBoolean(ec2.publicIp, "spec.awsEc2.publicIp");
  if (publicIp !== undefined) spec.publicIp = publicIp;
  const port = r.optionalInteger(ec2.port, "spec.awsEc2.port", 0, 4294967295);
  if (port !== undefined) spec.port = port;
  return spec;
}

/** The secret reference of any cloud upstream, if it has one. */
export function secretRefOf(u: CloudUpstream): SecretRef | undefined {
  switch (u.kind) {
    case "aws":
      return u.spec.secretRef;
    case "azure":
      return u.spec.secretRef;
    case "awsEc2":
      return u.spec.secretRef;
    default:
      return assertNever(u, "upstream kind");
  }
}

/** Re-exported so callers that only need the guard need not import fields.ts. */
export { isObject, ValidationError };
export type { JsonObject };
