// `credbroker run`: the controller, its secret sources and cloud verifiers, and the operational HTTP endpoints.
import type { PooledKubeConfig } from "../runtime/kube/pooled-kube-config.js";
import type { DestinationStream } from "pino";
import type { Config } from "../config.js";
import { createSystemClock } from "../runtime/clock.js";
import { Controller } from "../controller/controller.js";
import { createKubeUpstreamApi } from "../controller/kube-upstreams.js";
import { createOpsApp, listenOps } from "../http/ops-server.js";
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
  /** Where the operational endpoints listen. */
  url: string;
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
  let ops: Awaited<ReturnType<typeof listenOps>>;
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
    ops = await listenOps(
      createOpsApp({ ready: () => controller.ready(), renderMetrics: () => metrics.render(), metricsContentType: metrics.registry.contentType, httpRequests: metrics.httpRequests }),
      config.http.host,
      config.http.port,
    ).catch((err: unknown) => {
      const code = (err as { code?: unknown }).code;
      throw new CredbrokerError("InvalidSetting", `http.host/http.port: cannot listen on ${config.http.host}:${config.http.port}${typeof code === "string" ? ` (${code})` : ""}`, { cause: err });
    });
    undo.push(() => ops.close());
    await secrets.start();
    controller.start();
    undo.push(() => controller.stop());
  } catch (err) {
    await unwind();
    throw err;
  }
  logger.info({ url: ops.url, identity: settings.leader.identity, sources: config.secrets.sources }, "credbroker running");
  let stopping: Promise<void> | undefined;
  return {
    controller,
    metrics,
    url: ops.url,
    stop: (options = {}) =>
      (stopping ??= (async () => {
        logger.info("credbroker stopping");
        await controller.stop({ release: options.release ?? true });
        await ops.close();
        await secrets.stop();
        cloud.close();
        await kubeConfig.closeConnections();
      })()),
  };
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
