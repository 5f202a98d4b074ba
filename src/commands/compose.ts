// Builds the broker's parts from the configuration: Kubernetes client, secret sources, the provider registry, controller settings.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { DEFAULT_MAX_CLIENTS } from "../cloud/aws/aws-clients.js";
import { AwsProvider } from "../cloud/aws/aws-provider.js";
import { AzureProvider } from "../cloud/azure/azure-provider.js";
import { createAwsUpstreamProvider } from "../cloud/aws/aws-upstreams.js";
import { createAzureUpstreamProvider } from "../cloud/azure/azure-upstreams.js";
import { createProviderRegistry, type ProviderRegistry } from "../cloud/registry.js";
import { SharedProvider } from "../cloud/shared/shared-provider.js";
import { loadTrustedCas } from "../cloud/shared/tls.js";
import { inCluster, type Config } from "../config.js";
import type { ControllerSettings } from "../controller/controller.js";
import { PooledKubeConfig } from "../runtime/kube/pooled-kube-config.js";
import { createSecretPort, type SecretPort } from "../controller/secret-port.js";
import { parseSecretRefPolicy, type SecretRefPolicy } from "../model/annotations.js";
import { createSystemClock } from "../runtime/clock.js";
import { CredbrokerError } from "../model/errors.js";
import type { Redactor } from "../runtime/redact.js";
import { validateStatusKey } from "../model/status.js";
import type { Metrics } from "../observability/metrics.js";
import type { NotAuthorizedStreak } from "../secrets/not-authorized-streak.js";
import { createKubernetesSecretSource, kubernetesRefusals, type KubernetesSecretSource } from "../secrets/kubernetes/kubernetes-secret-source.js";
import { SecretResolver } from "../secrets/resolver.js";
import { fleetSizedCapacity, type SecretCacheCapacity } from "../secrets/secret-cache.js";
import type { SecretSource } from "../secrets/secret-source.js";
import { createVaultSecretSource, vaultRefusals } from "../secrets/vault/vault-secret-source.js";
import { packageVersion } from "../runtime/package-version.js";

/** `credbroker/<version>` from package.json, read when called (the composition root calls it once). I/O. */
export function brokerUserAgent(): string {
  return `credbroker/${packageVersion()}`;
}

/**
 * Kubernetes client config: the kubeconfig setting, else in-cluster when running in a pod, else the
 * default kubeconfig. Every request it makes says `User-Agent: credbroker/<version>`. Reads files (I/O).
 */
export function loadKubeConfig(config: Config): PooledKubeConfig {
  const kc = new PooledKubeConfig({ userAgent: brokerUserAgent() });
  if (config.kubernetes.kubeconfig !== undefined) kc.loadFromFile(config.kubernetes.kubeconfig);
  else if (inCluster()) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (config.kubernetes.context !== undefined) kc.setCurrentContext(config.kubernetes.context);
  return kc;
}

/** `any`, `same-namespace` or `allow:a,b` from settings, as the model's policy. */
export function secretRefPolicyOf(config: Config): SecretRefPolicy {
  const value = config.secrets.refPolicy;
  return parseSecretRefPolicy(value.startsWith("allow:") ? value.slice("allow:".length).split(",") : value, "secrets.refPolicy");
}

export interface SecretsPart {
  port: SecretPort;
  /**
   * The one streak of Kubernetes refusals of the broker's identity (401/403), fed by Secret reads
   * and by the controller's calls on upstreams and Events (run.ts), so a fleet refused is one log
   * line and one count.
   */
  kubernetesRefusals: NotAuthorizedStreak;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the configured secret sources behind one resolver. Reads Vault TLS files (I/O); starting logs in to Vault. */
export async function buildSecrets(config: Config, kc: PooledKubeConfig, deps: { logger: Logger; metrics: Metrics; redactor: Redactor }): Promise<SecretsPart> {
  const sources: SecretSource[] = [];
  let kubernetes: KubernetesSecretSource | undefined;
  const clock = createSystemClock();
  // One streak per dependency (not per source instance or upstream): built here, handed down.
  const refusals = {
    kubernetes: kubernetesRefusals({ logger: deps.logger.child({ component: "kubernetes-secrets" }), telemetry: deps.metrics, now: () => clock.monotonicNow() }),
    vault: vaultRefusals({ logger: deps.logger.child({ component: "vault" }), telemetry: deps.metrics, clock }),
  };
  // 0 follows the fleet; the resolver is built after the sources, so the bound reads it late.
  const late: { resolver?: SecretResolver } = {};
  const cacheSize: SecretCacheCapacity = config.secrets.cacheSize > 0 ? config.secrets.cacheSize : fleetSizedCapacity(() => late.resolver?.trackedRefCount ?? 0);
  for (const name of new Set(config.secrets.sources)) {
    if (name === "kubernetes") {
      kubernetes = createKubernetesSecretSource(
        kc,
        { cacheSize, requestTimeoutMs: config.kubernetes.requestTimeoutMs },
        { logger: deps.logger, telemetry: deps.metrics, refusals: refusals.kubernetes },
      );
      sources.push(kubernetes);
    } else {
      sources.push(await createVaultSecretSource({ ...config.vault }, { logger: deps.logger, telemetry: deps.metrics, cacheSize, clock, refusals: refusals.vault }));
    }
  }
  const resolver = new SecretResolver({ sources, order: config.secrets.sources, redactor: deps.redactor, logger: deps.logger });
  late.resolver = resolver;
  return { port: createSecretPort(resolver, kubernetes), kubernetesRefusals: refusals.kubernetes, start: () => resolver.start(), stop: () => resolver.stop() };
}

/**
 * The broker's own AWS credentials (environment, IRSA web identity, instance profile), resolved
 * once and refreshed before they expire: one chain for the process, not one per SDK client.
 */
function ambientAwsCredentials(): () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }> {
  const chain = defaultProvider();
  return async () => {
    const c = await chain();
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken !== undefined ? { sessionToken: c.sessionToken } : {}) };
  };
}

/**
 * SDK clients the AWS provider keeps: what the reconciles in flight use at once (an STS and a Lambda
 * client each, an assumed role's too) with room for their retries; never fewer than the default. Pure.
 */
export function awsClientsKept(concurrency: number): number {
  return Math.max(DEFAULT_MAX_CLIENTS, 4 * concurrency);
}

/**
 * Builds the providers, each behind the shared verification cache, registered by the upstream
 * kinds they serve (the one place that names every cloud). Reads the extra CA files (I/O).
 */
export async function buildCloud(config: Config, deps: { metrics: Metrics }): Promise<{ providers: ProviderRegistry; close(): void }> {
  const ca = await loadTrustedCas(config.tls.extraCaFiles);
  const aws = new AwsProvider({
    settings: config.aws,
    telemetry: deps.metrics,
    ca,
    requestTimeoutMs: config.aws.requestTimeoutMs,
    maxClients: awsClientsKept(config.controller.concurrency),
    ...(config.aws.allowAmbientCredentials ? { ambientCredentials: ambientAwsCredentials() } : {}),
  });
  const azure = new AzureProvider({ settings: config.azure, telemetry: deps.metrics, ca, requestTimeoutMs: config.azure.requestTimeoutMs });
  const shared = { cacheTtlMs: config.controller.cacheTtlMs, clock: createSystemClock(), telemetry: deps.metrics, share: config.controller.shareResults };
  return {
    providers: createProviderRegistry([
      createAwsUpstreamProvider(new SharedProvider(aws, shared), { allowAmbientCredentials: config.aws.allowAmbientCredentials }),
      createAzureUpstreamProvider(new SharedProvider(azure, shared)),
    ]),
    close: () => {
      aws.close();
      azure.close();
    },
  };
}

/** Controller settings from the configuration; throws CredbrokerError(InvalidSetting) naming a bad one. */
export function controllerSettings(config: Config): ControllerSettings {
  try {
    validateStatusKey(config.status.key, [], "status.key");
  } catch (err) {
    throw err instanceof CredbrokerError ? err : new CredbrokerError("InvalidSetting", "status.key is not valid");
  }
  return {
    statusKey: config.status.key,
    heartbeatMs: config.status.heartbeatIntervalMs,
    maxFunctions: config.discovery.maxFunctions,
    discoveryMode: config.discovery.mode,
    secretRefPolicy: secretRefPolicyOf(config),
    namespaces: config.kubernetes.namespaces,
    concurrency: config.controller.concurrency,
    ratePerSecond: config.controller.globalRatePerSecond,
    verifyIntervalMs: config.controller.verifyIntervalMs,
    backoffMinMs: config.controller.backoffMinMs,
    backoffMaxMs: config.controller.backoffMaxMs,
    watchStallMs: config.controller.watchStallMs,
    reconcileTimeoutMs: config.controller.reconcileTimeoutMs,
    leader: {
      enabled: config.leader.enabled,
      namespace: config.leader.namespace,
      name: config.leader.name,
      identity: config.leader.identity ?? `${hostname()}-${randomBytes(3).toString("hex")}`,
      leaseDurationMs: config.leader.leaseDurationMs,
      renewDeadlineMs: config.leader.renewDeadlineMs,
      retryPeriodMs: config.leader.retryPeriodMs,
      shards: config.leader.shards,
      maxShards: config.leader.maxShards,
    },
    requestTimeoutMs: config.kubernetes.requestTimeoutMs,
    maxQueuedReverify: config.http.maxQueuedReverify,
  };
}

/**
 * Deadline of the controller's upstream and Event calls. With leader election a write may start at
 * the last moment this replica still leads (its renew deadline); another replica may take the
 * lease leaseDuration after the last renewal. A write whose deadline (client and API server)
 * ends within leaseDuration − renewDeadline therefore never lands under another leader.
 */
export function upstreamRequestTimeoutMs(config: Config): number {
  if (!config.leader.enabled) return config.kubernetes.requestTimeoutMs;
  return Math.max(100, Math.min(config.kubernetes.requestTimeoutMs, config.leader.leaseDurationMs - config.leader.renewDeadlineMs - 500));
}
