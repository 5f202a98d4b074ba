// One pass over one upstream's credentials: resolve, verify, discover; the answer is conditions, not exceptions.
import { discoveryDecision, secretRefAllowed, type DiscoveryMode, type SecretRefPolicy, type UpstreamOptions } from "../model/annotations.js";
import type { ConditionOutcome, ConditionType } from "../model/conditions.js";
import type { AwsCredentials, AzureFunctionKeys, AzureServicePrincipal } from "../model/credentials.js";
import { CredbrokerError, toCredbrokerError } from "../model/errors.js";
import { azureEntries, lambdaEntries } from "../model/function-list.js";
import type { FunctionCounts, VerifiedIdentity } from "../model/status-types.js";
import { assertNever, upstreamKey, type AzureFunctionSpec, type CloudUpstream, type LambdaFunctionSpec, type SecretRef } from "../model/upstream.js";
import type { AwsCredentialInput, CloudPort, DiscoverResult, SecretPort, VerifyResult } from "./ports.js";

export interface EvaluateSettings {
  discoveryMode: DiscoveryMode;
  secretRefPolicy: SecretRefPolicy;
  allowAmbientCredentials: boolean;
}

export interface EvaluateContext {
  secrets: SecretPort;
  cloud: CloudPort;
  settings: EvaluateSettings;
  namespaceLabels: Readonly<Record<string, string>>;
  /** Bypass every cache (forced re-verification). */
  fresh: boolean;
}

/** Discovered entries ready to merge into the spec (mapped and filtered; the merge and cap come later). */
export type DiscoveredEntries = { kind: "aws"; entries: LambdaFunctionSpec[] } | { kind: "azure"; entries: AzureFunctionSpec[] };

export interface Evaluation {
  outcomes: ConditionOutcome[];
  identity?: VerifiedIdentity;
  discovered?: DiscoveredEntries;
  /** Problems found while discovering (keys missing or stale, a check skipped): folded into FunctionsDiscovered. */
  warnings?: CredbrokerError[];
  /** Set when verification was answered by a passing fault: retry with backoff rather than at the routine interval. */
  transient: boolean;
}

const ok = (type: ConditionType, reason: ConditionOutcome["reason"], message: string): ConditionOutcome => ({ type, status: "True", reason, message });

/** A failure as a condition: a retryable error is Unknown (keeps the last verdict), any other is False. */
export function failedOutcome(type: ConditionType, err: CredbrokerError, severity?: "error" | "warning"): ConditionOutcome {
  const outcome: ConditionOutcome = { type, status: err.retryable ? "Unknown" : "False", reason: err.reason, message: err.message };
  if (severity !== undefined) outcome.severity = severity;
  return outcome;
}

interface Credentials {
  aws?: AwsCredentialInput;
  functionKeys?: AzureFunctionKeys;
  principal?: AzureServicePrincipal;
  described: string;
}

/**
 * Resolves, verifies and (when wanted) discovers for one upstream. Does I/O through the ports;
 * never throws for a failure of the upstream's credentials or of a dependency — those become
 * conditions. Throws only for a bug (a non-CredbrokerError is wrapped as InternalError).
 */
export async function evaluate(upstream: CloudUpstream, options: UpstreamOptions, ctx: EvaluateContext): Promise<Evaluation> {
  const outcomes: ConditionOutcome[] = [];
  let credentials: Credentials;
  try {
    credentials = await resolveCredentials(upstream, options, ctx);
    outcomes.push(ok("SecretResolved", "Resolved", credentials.described));
  } catch (err) {
    const e = toCredbrokerError(err, "resolving the secret");
    return { outcomes: [failedOutcome("SecretResolved", e)], transient: e.retryable };
  }

  const verified = await verify(upstream, credentials, ctx);
  if (verified.status !== "valid") {
    outcomes.push(failedOutcome("Authenticated", verified.error));
    return { outcomes, transient: verified.status === "unknown" };
  }
  outcomes.push(ok("Authenticated", "Verified", `credentials verified as ${describeIdentity(verified.identity)}`));
  const evaluation: Evaluation = { outcomes, identity: verified.identity, transient: false };

  // EC2 instances are never written into the spec: awsEc2 upstreams are verified only.
  if (upstream.kind === "awsEc2") return evaluation;
  let decision: { wanted: boolean; because: string };
  try {
    decision = discoveryDecision(upstream.meta, ctx.namespaceLabels, ctx.settings.discoveryMode);
  } catch (err) {
    // A bad discovery label on the namespace (or the upstream) is reported, not retried forever.
    outcomes.push(failedOutcome("DiscoveryPermitted", toCredbrokerError(err, "reading the discovery label")));
    return evaluation;
  }
  if (!decision.wanted) return evaluation;
  const discovered = await discover(upstream, options, credentials, ctx);
  if (discovered.status !== "listed") {
    outcomes.push(failedOutcome("DiscoveryPermitted", discovered.error));
    evaluation.transient = discovered.status === "unknown";
    return evaluation;
  }
  outcomes.push(ok("DiscoveryPermitted", "Listed", `functions listed (${decision.because})`));
  if (discovered.warnings.length > 0) evaluation.warnings = discovered.warnings;
  switch (discovered.discovered.provider) {
    case "aws":
      evaluation.discovered = { kind: "aws", entries: lambdaEntries(discovered.discovered.functions, options.lambdaQualifiers, options.functionFilter) };
      break;
    case "azure":
      evaluation.discovered = { kind: "azure", entries: azureEntries(discovered.discovered.functions, options.functionFilter) };
      break;
    default:
      assertNever(discovered.discovered, "discovered provider");
  }
  return evaluation;
}

/**
 * The one FunctionsDiscovered condition once the list has been merged and capped: the counts,
 * and every discovery warning folded in (the first one's reason names the condition). Pure.
 */
export function functionsOutcome(counts: FunctionCounts, maxFunctions: number, warnings: readonly CredbrokerError[] = []): ConditionOutcome {
  const base = counts.truncated
    ? ok("FunctionsDiscovered", "FunctionListTruncated", `${counts.discovered} functions discovered; ${counts.published} published, the list is capped at ${maxFunctions}`)
    : ok("FunctionsDiscovered", "Published", `${counts.discovered} functions discovered, ${counts.published} published`);
  const [first] = warnings;
  if (first === undefined) return base;
  return { ...failedOutcome("FunctionsDiscovered", first, "warning"), status: "False", message: [base.message, ...warnings.map((w) => w.message)].join("; ") };
}

function describeIdentity(identity: VerifiedIdentity): string {
  switch (identity.provider) {
    case "aws":
      return identity.arn;
    case "azure":
      return `client ${identity.clientId} in tenant ${identity.tenantId}`;
    default:
      return assertNever(identity, "identity provider");
  }
}

function checkPolicy(upstream: CloudUpstream, ref: SecretRef, field: string, policy: SecretRefPolicy): void {
  if (!secretRefAllowed(policy, upstream.meta.namespace, ref.namespace)) {
    // Says nothing about the secret itself: not whether it exists, nor what it holds.
    throw new CredbrokerError("SecretRefNotAllowed", `${field}: secrets in namespace ${ref.namespace} may not be referenced from namespace ${upstream.meta.namespace} (secretRefPolicy)`, { field });
  }
}

async function resolveCredentials(upstream: CloudUpstream, options: UpstreamOptions, ctx: EvaluateContext): Promise<Credentials> {
  const key = upstreamKey(upstream.meta);
  const lookup = (ref: SecretRef, expected: "awsKeys" | "azureFunctionKeys" | "azureServicePrincipal") =>
    ctx.secrets.resolve({ ref, expected, upstreamKey: key, override: options.secretSource, fresh: ctx.fresh });
  switch (upstream.kind) {
    case "aws":
    case "awsEc2": {
      const ref = upstream.spec.secretRef;
      const field = `spec.${upstream.kind}.secretRef`;
      if (ref === undefined) {
        if (!ctx.settings.allowAmbientCredentials) {
          throw new CredbrokerError("SecretNotFound", `${field} is not set and the broker's ambient credentials are not allowed (aws.allowAmbientCredentials)`, { field });
        }
        return { aws: { kind: "ambient" }, described: "no secretRef: using the broker's ambient AWS credentials" };
      }
      checkPolicy(upstream, ref, field, ctx.settings.secretRefPolicy);
      const resolved = await lookup(ref, "awsKeys");
      return { aws: { kind: "keys", keys: resolved.material as AwsCredentials }, described: `AWS keys resolved from ${resolved.location}` };
    }
    case "azure": {
      const parts: string[] = [];
      const credentials: Credentials = { described: "" };
      const ref = upstream.spec.secretRef;
      if (ref !== undefined) {
        checkPolicy(upstream, ref, "spec.azure.secretRef", ctx.settings.secretRefPolicy);
        const resolved = await lookup(ref, "azureFunctionKeys");
        credentials.functionKeys = resolved.material as AzureFunctionKeys;
        parts.push(`function keys resolved from ${resolved.location}`);
      }
      const principalRef = options.azureCredentials;
      if (principalRef === undefined) {
        throw new CredbrokerError("SecretNotFound", `annotation credbroker.io/azure-credentials is not set: a service principal is needed to verify the function app`, {
          field: 'metadata.annotations["credbroker.io/azure-credentials"]',
        });
      }
      checkPolicy(upstream, principalRef, 'metadata.annotations["credbroker.io/azure-credentials"]', ctx.settings.secretRefPolicy);
      const principal = await lookup(principalRef, "azureServicePrincipal");
      credentials.principal = principal.material as AzureServicePrincipal;
      parts.push(`service principal resolved from ${principal.location}`);
      credentials.described = parts.join("; ");
      return credentials;
    }
    default:
      return assertNever(upstream, "upstream kind");
  }
}

async function verify(upstream: CloudUpstream, credentials: Credentials, ctx: EvaluateContext): Promise<VerifyResult> {
  switch (upstream.kind) {
    case "aws":
    case "awsEc2":
      return ctx.cloud.verify({
        provider: "aws",
        region: upstream.spec.region,
        credentials: credentials.aws ?? { kind: "ambient" },
        roleArn: upstream.spec.roleArn,
        expectedAccount: upstream.kind === "aws" ? upstream.spec.awsAccountId : undefined,
        fresh: ctx.fresh,
      });
    case "azure":
      if (credentials.principal === undefined) {
        return { status: "rejected", error: new CredbrokerError("SecretNotFound", "no service principal to verify with") };
      }
      return ctx.cloud.verify({ provider: "azure", principal: credentials.principal, functionAppName: upstream.spec.functionAppName, fresh: ctx.fresh });
    default:
      return assertNever(upstream, "upstream kind");
  }
}

type DiscoverableUpstream = Exclude<CloudUpstream, { kind: "awsEc2" }>;

async function discover(upstream: DiscoverableUpstream, options: UpstreamOptions, credentials: Credentials, ctx: EvaluateContext): Promise<DiscoverResult> {
  switch (upstream.kind) {
    case "aws":
      return ctx.cloud.discover({
        provider: "aws",
        region: upstream.spec.region,
        credentials: credentials.aws ?? { kind: "ambient" },
        roleArn: upstream.spec.roleArn,
        expectedAccount: upstream.spec.awsAccountId,
        qualifiers: options.lambdaQualifiers,
        filter: options.functionFilter,
        fresh: ctx.fresh,
      });
    case "azure":
      if (credentials.principal === undefined) {
        return { status: "rejected", error: new CredbrokerError("SecretNotFound", "no service principal to discover with") };
      }
      return ctx.cloud.discover({
        provider: "azure",
        principal: credentials.principal,
        functionAppName: upstream.spec.functionAppName,
        functionKeys: credentials.functionKeys,
        filter: options.functionFilter,
        fresh: ctx.fresh,
      });
    default:
      return assertNever(upstream, "upstream kind");
  }
}
