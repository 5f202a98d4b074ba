// One pass over one upstream's credentials: resolve, verify, discover, through the provider of its kind; the answer is conditions, not exceptions.
import type { CallPolicy, ProviderRegistry, ResolvedCredentials, UpstreamProvider } from "../cloud/registry.js";
import { discoveryDecision, secretRefAllowed, type DiscoveryMode, type SecretRefPolicy, type UpstreamOptions } from "../model/annotations.js";
import { describeIdentity } from "../model/cloud-results.js";
import type { SecretMaterial } from "../model/credentials.js";
import { CredbrokerError, toCredbrokerError } from "../model/errors.js";
import { failedEvaluation, failedOutcome, okOutcome, type Evaluation } from "../model/evaluation.js";
import { upstreamKey, type CloudUpstream } from "../model/upstream.js";
import type { SecretPort } from "./secret-port.js";

export interface EvaluateSettings {
  discoveryMode: DiscoveryMode;
  secretRefPolicy: SecretRefPolicy;
}

export interface EvaluateContext {
  secrets: SecretPort;
  providers: ProviderRegistry;
  settings: EvaluateSettings;
  namespaceLabels: Readonly<Record<string, string>>;
  /** `fresh` for a forced re-verification: every cache is bypassed, secrets and clouds alike. */
  policy: CallPolicy;
}

/**
 * Resolves, verifies and (when wanted) discovers for one upstream. Does I/O through the secret
 * port and the upstream's provider; never throws for a failure of the upstream's credentials or
 * of a dependency — those become conditions. Throws only for a bug.
 */
export async function evaluate(upstream: CloudUpstream, options: UpstreamOptions, ctx: EvaluateContext): Promise<Evaluation> {
  const provider = ctx.providers.forKind(upstream.kind);
  let resolved: { credentials: ResolvedCredentials; described: string };
  try {
    resolved = await resolveCredentials(provider, upstream, options, ctx);
  } catch (err) {
    return failedEvaluation("SecretResolved", toCredbrokerError(err, "resolving the secret"));
  }
  const outcomes = [okOutcome("SecretResolved", "Resolved", resolved.described)];

  const verified = await provider.verify(upstream, resolved.credentials, ctx.policy);
  if (verified.status !== "valid") return failedEvaluation("Authenticated", verified.error, outcomes);
  outcomes.push(okOutcome("Authenticated", "Verified", `credentials verified as ${describeIdentity(verified.identity)}`));
  const evaluation: Evaluation = { outcomes, identity: verified.identity, transient: false };
  if (verified.verifiedAtMs !== undefined) evaluation.verifiedAtMs = verified.verifiedAtMs;

  const field = provider.functionList(upstream.kind);
  if (field === undefined) return evaluation;
  let decision: { wanted: boolean; because: string };
  try {
    decision = discoveryDecision(upstream.meta, ctx.namespaceLabels, ctx.settings.discoveryMode);
  } catch (err) {
    // A bad discovery label on the namespace (or the upstream) is reported, not retried forever.
    outcomes.push(failedOutcome("DiscoveryPermitted", toCredbrokerError(err, "reading the discovery label")));
    return evaluation;
  }
  if (!decision.wanted) return evaluation;

  const discovered = await provider.discover(upstream, options, resolved.credentials, verified.identity, ctx.policy);
  if (discovered.status !== "listed") {
    const failed = failedEvaluation("DiscoveryPermitted", discovered.error, outcomes);
    return { ...evaluation, ...failed, identity: verified.identity };
  }
  outcomes.push(okOutcome("DiscoveryPermitted", "Listed", `functions listed (${decision.because})`));
  if (discovered.warnings.length > 0) evaluation.warnings = discovered.warnings;
  evaluation.discovered = { field, entries: provider.entries(upstream, discovered.functions, options) };
  return evaluation;
}

/** Resolves every secret the provider's plan names, each checked against the secret-reference policy first. Throws CredbrokerError. */
async function resolveCredentials(provider: UpstreamProvider, upstream: CloudUpstream, options: UpstreamOptions, ctx: EvaluateContext): Promise<{ credentials: ResolvedCredentials; described: string }> {
  const plan = provider.credentials(upstream, options);
  const credentials = new Map<string, SecretMaterial>();
  const described: string[] = plan.ambient !== undefined ? [plan.ambient] : [];
  for (const need of plan.secrets) {
    if (!secretRefAllowed(ctx.settings.secretRefPolicy, upstream.meta.namespace, need.ref.namespace)) {
      // Says nothing about the secret itself: not whether it exists, nor what it holds.
      throw new CredbrokerError("SecretRefNotAllowed", `${need.field}: secrets in namespace ${need.ref.namespace} may not be referenced from namespace ${upstream.meta.namespace} (secretRefPolicy)`, { field: need.field });
    }
    const resolved = await ctx.secrets.resolve({ ref: need.ref, expected: need.expected, upstreamKey: upstreamKey(upstream.meta), override: options.secretSource, fresh: ctx.policy.fresh });
    credentials.set(need.role, resolved.material);
    described.push(`${need.label} resolved from ${resolved.location}`);
  }
  return { credentials, described: described.join("; ") };
}
