// `credbroker run`: the controller, its secret sources and cloud verifiers, and the operational HTTP endpoints.
import type { PooledKubeConfig } from "../runtime/kube/pooled-kube-config.js";
import type { DestinationStream } from "pino";
import type { Config } from "../config.js";
import { createSystemClock } from "../runtime/clock.js";
import { Controller } from "../controller/controller.js";
import { createKubeUpstreamApi } from "../controller/kube-upstreams.js";
import { createHttpApp, listenHttp, type Listening } from "../http/app.js";
import type { ApiDeps } from "../http/api-routes.js";
import { createApiAuth } from "../http/auth/create-api-auth.js";
import { CallerLimits } from "../http/caller-limits.js";
import type { OpsDeps } from "../http/ops-server.js";
import type { Clock } from "../runtime/clock.js";
import { CredbrokerError } from "../model/errors.js";
import { Redactor } from "../runtime/redact.js";
import { asSettingFailure, settingFailure } from "../config/setting-files.js";
import { createLogger } from "../observability/log.js";
import { Metrics } from "../observability/metrics.js";
import { buildCloud, buildSecrets, controllerSettings, loadKubeConfig, upstreamRequestTimeoutMs } from "./compose.js";
import { waitForStopSignal } from "./signals.js";

export interface Broker {
  controller: Controller;
  metrics: Metrics;
  /** Where the API listens (and the operational endpoints, unless http.opsPort is set). */
  url: string;
  /** Where /healthz, /readyz and /metrics listen: `url`, or the http.opsPort listener. */
  opsUrl: string;
  /**
   * Graceful: stop taking work, finish in-flight reconciles, release the lease, revoke the Vault
   * token. With `release: false` the lease is left to expire, as after a crash. Idempotent.
   */
  stop(options?: { release?: boolean }): Promise<void>;
}

export interface BrokerOverrides {
  kubeConfig?: PooledKubeConfig;
  /** Where log lines go (stdout by default); the broker's own redactor still scrubs them. */
  logDestination?: DestinationStream;
}

/** Starts a broker from `config` and returns once it is running (watches may still be syncing). I/O. */
export async function startBroker(config: Config, overrides: BrokerOverrides = {}): Promise<Broker> {
  const redactor = new Redactor();
  const logger = createLogger({ level: config.log.level, ...(overrides.logDestination ? { destination: overrides.logDestination } : {}) }, redactor);
  const metrics = new Metrics();
  const kubeConfig = overrides.kubeConfig ?? asSettingFailure("kubernetes.kubeconfig/kubernetes.context", "the Kubernetes client cannot be configured", () => loadKubeConfig(config));
  const settings = controllerSettings(config);
  // What has been started so far, undone in reverse if a later step fails (a port in use, a bad
  // CA file), so a failed start exits instead of hanging on timers and never leaks a Vault token.
  const undo: (() => Promise<void> | void)[] = [() => kubeConfig.closeConnections()];
  const unwind = async (): Promise<void> => {
    for (const step of undo.reverse()) await Promise.resolve(step()).catch(() => undefined);
  };
  let controller: Controller;
  let listeners: Listening[] = [];
  let secrets: Awaited<ReturnType<typeof buildSecrets>>;
  let cloud: Awaited<ReturnType<typeof buildCloud>>;
  try {
    secrets = await buildSecrets(config, kubeConfig, { logger, metrics, redactor });
    undo.push(() => secrets.stop());
    cloud = await buildCloud(config, { metrics }).catch((err: unknown) => {
      throw settingFailure(err, "tls.extraCaFiles", "the cloud clients cannot be configured");
    });
    undo.push(() => cloud.close());
    controller = new Controller({
      kubeConfig,
      api: createKubeUpstreamApi(kubeConfig, { requestTimeoutMs: upstreamRequestTimeoutMs(config), refusals: secrets.kubernetesRefusals }),
      secrets: secrets.port,
      providers: cloud.providers,
      settings,
      logger,
      metrics,
      clock: createSystemClock(),
      random: Math.random,
    });
    const clock = createSystemClock();
    const auth = await createApiAuth(
      { auth: config.http.auth, tokenFile: config.http.tokenFile, tokenAudiences: config.http.tokenAudiences, authCacheMs: config.http.authCacheMs },
      { kubeConfig, clock, requestTimeoutMs: config.kubernetes.requestTimeoutMs, logger },
    ).catch((err: unknown) => {
      throw settingFailure(err, "http.tokenFile", "the API's token file cannot be used");
    });
    const c = controller;
    const api: ApiDeps = apiDeps(config, clock, { auth, broker: { select: (s) => c.select(s), view: (k) => c.view(k), requestReverify: (k, o) => c.requestReverify(k, o) }, metrics });
    const ops: OpsDeps = { ready: () => c.ready(), renderMetrics: () => metrics.render(), metricsContentType: metrics.registry.contentType };
    const onUnexpected = (err: unknown): void => logger.error({ err }, "HTTP request failed unexpectedly");
    const separateOps = config.http.opsPort !== undefined;
    listeners.push(await listenOn(createHttpApp({ api, ...(separateOps ? {} : { ops }), httpRequests: metrics.httpRequests, onUnexpected }), config.http.host, config.http.port, "http.port"));
    undo.push(() => listeners[0]?.close());
    if (config.http.opsPort !== undefined) {
      listeners.push(await listenOn(createHttpApp({ ops, httpRequests: metrics.httpRequests, onUnexpected }), config.http.host, config.http.opsPort, "http.opsPort"));
      undo.push(() => listeners[1]?.close());
    }
    await secrets.start();
    controller.start();
    undo.push(() => controller.stop());
  } catch (err) {
    await unwind();
    throw err;
  }
  const url = listeners[0]?.url ?? "";
  const opsUrl = listeners[1]?.url ?? url;
  logger.info({ url, opsUrl, auth: config.http.auth, identity: settings.leader.identity, sources: config.secrets.sources }, "credbroker running");
  let stopping: Promise<void> | undefined;
  return {
    controller,
    metrics,
    url,
    opsUrl,
    stop: (options = {}) =>
      (stopping ??= (async () => {
        logger.info("credbroker stopping");
        await controller.stop({ release: options.release ?? true });
        for (const l of listeners) await l.close();
        listeners = [];
        await secrets.stop();
        cloud.close();
        await kubeConfig.closeConnections();
      })()),
  };
}

/** The API's dependencies from the settings: per-caller limits, a stricter per-address limit on failed authentications. */
function apiDeps(config: Config, clock: Clock, parts: Pick<ApiDeps, "auth" | "broker"> & { metrics: Metrics }): ApiDeps {
  return {
    auth: parts.auth,
    broker: parts.broker,
    limits: new CallerLimits({ perMinute: config.http.requestsPerMinute }),
    // A token guesser gets a few tries a minute per address, however generous the per-caller limit is.
    failedAuthLimits: new CallerLimits({ perMinute: 30, burst: 10 }),
    clock,
    bodyLimitBytes: config.http.bodyLimitBytes,
    ratePerSecond: config.controller.globalRatePerSecond,
    refusals: parts.metrics.httpRefusals,
  };
}

/** Listens, or fails with the setting to fix. */
async function listenOn(app: Parameters<typeof listenHttp>[0], host: string, port: number, setting: string): Promise<Listening> {
  return listenHttp(app, host, port).catch((err: unknown) => {
    const code = (err as { code?: unknown }).code;
    throw new CredbrokerError("InvalidSetting", `http.host/${setting}: cannot listen on ${host}:${port}${typeof code === "string" ? ` (${code})` : ""}`, { cause: err });
  });
}

/**
 * Runs until SIGINT or SIGTERM, then stops gracefully; a signal that arrives while starting stops
 * the broker as soon as it is up (a pod deleted during start-up still releases its lease and Vault
 * token). Resolves with the exit code.
 */
export async function runCommand(config: Config): Promise<number> {
  const signal = waitForStopSignal();
  try {
    const broker = await startBroker(config);
    await signal.received;
    await broker.stop();
    return 0;
  } finally {
    signal.dispose();
  }
}
