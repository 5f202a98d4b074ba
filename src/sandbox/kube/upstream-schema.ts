// Our own schema for gloo.solo.io/v1 Upstreams: the cloud blocks credbroker reads and writes are typed and pruned; other spec keys Gloo knows stay opaque.
import type { SchemaNode } from "./schema.js";

const str: SchemaNode = { type: "string" };
const bool: SchemaNode = { type: "boolean" };
const uint32: SchemaNode = { type: "integer", minimum: 0, maximum: 4294967295 };
const opaqueObject: SchemaNode = { type: "object", preserveUnknownFields: true };

function object(properties: Record<string, SchemaNode>): SchemaNode {
  return { type: "object", properties };
}

const secretRef = object({ name: str, namespace: str });

const aws = object({
  region: str,
  secretRef,
  lambdaFunctions: { type: "array", items: object({ logicalName: str, lambdaFunctionName: str, qualifier: str }) },
  roleArn: str,
  awsAccountId: str,
  disableRoleChaining: bool,
  // Gateway-side invocation options credbroker never touches: kept as written.
  destinationOverrides: opaqueObject,
});

const azure = object({
  functionAppName: str,
  secretRef,
  // authLevel is int-or-string: Gloo's enum is serialised as a name or as its number (0/1/2).
  functions: { type: "array", items: object({ functionName: str, authLevel: { type: "string", intOrString: true } }) },
});

const awsEc2 = object({
  region: str,
  secretRef,
  roleArn: str,
  filters: { type: "array", items: opaqueObject },
  publicIp: bool,
  port: uint32,
});

/**
 * The other top-level keys of Gloo's Upstream spec. They are named so the emulator prunes keys Gloo
 * would prune, and kept opaque because credbroker neither reads nor writes inside them.
 */
const otherSpecKeys: Record<string, SchemaNode> = {
  ai: opaqueObject,
  circuitBreakers: opaqueObject,
  connectionConfig: opaqueObject,
  consul: opaqueObject,
  disableIstioAutoMtls: { type: "boolean", nullable: true },
  discoveryMetadata: opaqueObject,
  dnsRefreshRate: str,
  failover: opaqueObject,
  gcp: opaqueObject,
  healthChecks: { type: "array", items: opaqueObject },
  httpConnectHeaders: { type: "array", items: opaqueObject },
  httpConnectSslConfig: opaqueObject,
  httpProxyHostname: { type: "string", nullable: true },
  ignoreHealthOnHostRemoval: { type: "boolean", nullable: true },
  initialConnectionWindowSize: { ...uint32, nullable: true },
  initialStreamWindowSize: { ...uint32, nullable: true },
  kube: opaqueObject,
  loadBalancerConfig: opaqueObject,
  maxConcurrentStreams: { ...uint32, nullable: true },
  namespacedStatuses: opaqueObject,
  outlierDetection: opaqueObject,
  overrideStreamErrorOnInvalidHttpMessage: { type: "boolean", nullable: true },
  pipe: opaqueObject,
  preconnectPolicy: opaqueObject,
  protocolSelection: { type: "string", intOrString: true },
  proxyProtocolVersion: { type: "string", nullable: true },
  respectDnsTtl: { type: "boolean", nullable: true },
  sslConfig: opaqueObject,
  static: opaqueObject,
  useHttp2: { type: "boolean", nullable: true },
};

/** Schema of an Upstream's `spec` and `status` (metadata, apiVersion and kind are handled by the store). */
export function upstreamSchema(): SchemaNode {
  return {
    type: "object",
    properties: {
      spec: object({ aws, azure, awsEc2, ...otherSpecKeys }),
      // No status subresource: status is written through the main object and keeps whatever it is given.
      status: { type: "object", preserveUnknownFields: true, properties: { statuses: opaqueObject } },
    },
  };
}
