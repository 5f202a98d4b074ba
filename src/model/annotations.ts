// The annotations and labels an Upstream carries for credbroker, parsed into typed options, and the discovery and secret-reference policies.
import { createHash } from "node:crypto";
import { ValidationError } from "./errors.js";
import {
  parseFunctionFilter,
  parseLambdaQualifiers,
  type FunctionFilter,
  type LambdaQualifierKind,
} from "./function-filter.js";
import { DNS_LABEL_RULE, DNS_SUBDOMAIN_RULE, isDnsLabel, isDnsSubdomain, isObject } from "./fields.js";
import type { SecretRef, UpstreamMeta } from "./upstream.js";

export const ANNOTATIONS = {
  discovery: "discovery.solo.io/function_discovery",
  reverify: "credbroker.io/reverify",
  functionFilter: "credbroker.io/function-filter",
  lambdaQualifiers: "credbroker.io/lambda-qualifiers",
  azureCredentials: "credbroker.io/azure-credentials",
  secretSource: "credbroker.io/secret-source",
} as const;

/** Gloo's label, honoured on the upstream and on its namespace. */
export const DISCOVERY_LABEL = "discovery.solo.io/function_discovery";

export type DiscoverySetting = "enabled" | "disabled";
export type DiscoveryMode = "whitelist" | "blacklist" | "disabled";
export type SecretSourceKind = "kubernetes" | "vault";

/** Namespaces `blacklist` mode leaves alone unless discovery is enabled there explicitly. */
export const PROTECTED_NAMESPACES: readonly string[] = Object.freeze(["kube-system", "kube-public"]);

export type UpstreamMetaLike = Pick<UpstreamMeta, "namespace" | "annotations" | "labels">;

export interface UpstreamOptions {
  /** The upstream's own request (annotation first, then label); the namespace is weighed by discoveryWanted. */
  discovery: DiscoverySetting | undefined;
  /** The `credbroker.io/reverify` value; a new value asks for a re-verification now. */
  reverifyToken: string | undefined;
  functionFilter: FunctionFilter;
  lambdaQualifiers: LambdaQualifierKind[];
  /** Service-principal secret for Azure verification and discovery; namespace defaults to the upstream's. */
  azureCredentials: SecretRef | undefined;
  /** Per-upstream override of the secret source order. */
  secretSource: SecretSourceKind | undefined;
}

export function annotationField(key: string): string {
  return `metadata.annotations["${key}"]`;
}

export function labelField(key: string, of: "upstream" | "namespace" = "upstream"): string {
  return `${of === "namespace" ? "namespace." : ""}metadata.labels["${key}"]`;
}

const PLAIN_REVERIFY = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * How a `credbroker.io/reverify` value is recorded in the status (observedReverify): as it is
 * when it is a short plain token (what the HTTP hand-off and `kubectl annotate` write), else as
 * `sha256:<32 hex>` of the trimmed value, so arbitrary annotation text is never copied into the
 * status. Pure.
 */
export function reverifyMark(value: string): string {
  const token = value.trim();
  return PLAIN_REVERIFY.test(token) ? token : `sha256:${createHash("sha256").update(token).digest("hex").slice(0, 32)}`;
}

/**
 * Parses every credbroker annotation (and Gloo's discovery label) of an upstream. Pure. Throws
 * ValidationError(InvalidSpec) whose field names the annotation, e.g.
 * `metadata.annotations["credbroker.io/lambda-qualifiers"]`, at the first bad value.
 */
export function parseUpstreamOptions(meta: UpstreamMetaLike): UpstreamOptions {
  const a = meta.annotations;
  const reverify = a[ANNOTATIONS.reverify]?.trim();
  return {
    discovery: ownDiscoverySetting(meta),
    reverifyToken: reverify === undefined || reverify === "" ? undefined : reverify,
    functionFilter: parseFunctionFilter(a[ANNOTATIONS.functionFilter], annotationField(ANNOTATIONS.functionFilter)),
    lambdaQualifiers: parseLambdaQualifiers(a[ANNOTATIONS.lambdaQualifiers], annotationField(ANNOTATIONS.lambdaQualifiers)),
    azureCredentials: parseSecretName(a[ANNOTATIONS.azureCredentials], annotationField(ANNOTATIONS.azureCredentials), meta.namespace),
    secretSource: parseSecretSource(a[ANNOTATIONS.secretSource], annotationField(ANNOTATIONS.secretSource)),
  };
}

function parseDiscoverySetting(value: string | undefined, field: string): DiscoverySetting | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === "enabled" || v === "disabled") return v;
  throw new ValidationError("InvalidSpec", field, "must be enabled or disabled");
}

function ownDiscoverySetting(meta: UpstreamMetaLike): DiscoverySetting | undefined {
  return (
    parseDiscoverySetting(meta.annotations[ANNOTATIONS.discovery], annotationField(ANNOTATIONS.discovery)) ??
    parseDiscoverySetting(meta.labels[DISCOVERY_LABEL], labelField(DISCOVERY_LABEL))
  );
}

/**
 * Decides whether functions are discovered for an upstream, with the reason in words for the
 * DiscoveryPermitted condition. Pure. The upstream's annotation wins over its label, which wins
 * over its namespace's label. Throws ValidationError(InvalidSpec) for a value other than
 * enabled/disabled, naming the annotation or label.
 */
export function discoveryDecision(
  meta: UpstreamMetaLike,
  namespaceLabels: Readonly<Record<string, string>>,
  mode: DiscoveryMode,
): { wanted: boolean; because: string } {
  if (mode === "disabled") return { wanted: false, because: "discovery is disabled for this installation" };
  const own = ownDiscoverySetting(meta);
  const fromNamespace = parseDiscoverySetting(namespaceLabels[DISCOVERY_LABEL], labelField(DISCOVERY_LABEL, "namespace"));
  const setting = own ?? fromNamespace;
  const where = own !== undefined ? "on the upstream" : "on its namespace";
  switch (mode) {
    case "whitelist":
      return setting === "enabled"
        ? { wanted: true, because: `discovery is enabled ${where}` }
        : { wanted: false, because: "discovery is not enabled on the upstream or its namespace (whitelist mode)" };
    case "blacklist":
      if (setting === "disabled") return { wanted: false, because: `discovery is disabled ${where}` };
      if (setting === undefined && PROTECTED_NAMESPACES.includes(meta.namespace)) {
        return { wanted: false, because: `${meta.namespace} is excluded unless discovery is enabled (blacklist mode)` };
      }
      return { wanted: true, because: setting === "enabled" ? `discovery is enabled ${where}` : "discovery is not disabled (blacklist mode)" };
  }
}

/** discoveryDecision without the explanation. */
export function discoveryWanted(meta: UpstreamMetaLike, namespaceLabels: Readonly<Record<string, string>>, mode: DiscoveryMode): boolean {
  return discoveryDecision(meta, namespaceLabels, mode).wanted;
}

/**
 * Parses `[namespace/]name` naming a Secret; the namespace defaults to `defaultNamespace`. Pure.
 * Both parts are checked as Kubernetes checks them (a DNS-1123 label, a DNS-1123 subdomain), so a
 * typo is InvalidSpec on `field` rather than a Secret that is not found. The value is never echoed.
 */
export function parseSecretName(value: string | undefined, field: string, defaultNamespace: string): SecretRef | undefined {
  if (value === undefined) return undefined;
  const parts = value.trim().split("/");
  const [first, second] = parts;
  if (parts.length > 2 || first === undefined || first === "") throw new ValidationError("InvalidSpec", field, "must be [namespace/]name");
  const namespace = second === undefined ? defaultNamespace : first;
  const name = second ?? first;
  if (!isDnsLabel(namespace)) throw new ValidationError("InvalidSpec", field, `must be [namespace/]name with a valid namespace: ${DNS_LABEL_RULE}`);
  if (!isDnsSubdomain(name)) throw new ValidationError("InvalidSpec", field, `must be [namespace/]name with a valid Secret name: ${DNS_SUBDOMAIN_RULE}`);
  return { namespace, name };
}

function parseSecretSource(value: string | undefined, field: string): SecretSourceKind | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === "kubernetes" || v === "vault") return v;
  throw new ValidationError("InvalidSpec", field, "must be kubernetes or vault");
}

/** The `secretRefPolicy` setting: which namespaces an upstream's secret may live in. */
export type SecretRefPolicy = "any" | "same-namespace" | { allow: readonly string[] };

/**
 * Whether an upstream in `upstreamNamespace` may reference a secret in `secretNamespace`. Pure.
 * A secret in the upstream's own namespace is always allowed: the policy is about crossing
 * namespaces, and an allow-list that forbade an upstream its own namespace would be a trap.
 */
export function secretRefAllowed(policy: SecretRefPolicy, upstreamNamespace: string, secretNamespace: string): boolean {
  if (upstreamNamespace === secretNamespace) return true;
  if (policy === "any") return true;
  if (policy === "same-namespace") return false;
  return policy.allow.includes(secretNamespace);
}

/**
 * Reads the setting from config input: `any`, `same-namespace`, `{allow: [...]}` or a plain
 * list of namespaces. Pure; throws ValidationError(InvalidSetting) on `field`.
 */
export function parseSecretRefPolicy(value: unknown, field = "secretRefPolicy"): SecretRefPolicy {
  if (value === undefined || value === null || value === "any") return "any";
  if (value === "same-namespace") return "same-namespace";
  const list = isObject(value) ? value.allow : value;
  if (Array.isArray(list) && list.every((ns): ns is string => typeof ns === "string" && isDnsLabel(ns))) {
    return { allow: [...list] };
  }
  throw new ValidationError("InvalidSetting", field, "must be any, same-namespace, or {allow: [namespace, ...]}");
}
