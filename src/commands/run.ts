// `credbroker run`: the controller, its secret sources and cloud verifiers, and the operational HTTP endpoints.
import type { PooledKubeConfig } from "../controller/pooled-kube-config.js";
import type { DestinationStream } from "pino";
import type { Config } from "../config.js";
import { createSystemClock } from "../controller/clock.js";
import { Controller } from "../controller/controller.js";
import { createKubeUpstreamApi } from "../controller/kube-upstreams.js";
import { createOpsApp, listenOps } from "../http/ops-server.js";
import { Redactor } from "../model/redact.js";
import { createLogger } from "../observability/log.js";
import { Metrics } from "../observability/metrics.js";
import { buildCloud, buildSecrets, controllerSettings, loadKubeConfig } from "./compose.js";

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
  const kubeConfig = overrides.kubeConfig ?? loadKubeConfig(config);
  const settings = controllerSettings(config);
  const secrets = await buildSecrets(config, kubeConfig, { logger, metrics, redactor });
  const cloud = await buildCloud(config, { metrics });
  await secrets.start();
  const controller = new Controller({
    kubeConfig,
    api: createKubeUpstreamApi(kubeConfig),
    secrets: secrets.port,
    cloud: cloud.port,
    settings,
    logger,
    metrics,
    clock: createSystemClock(),
    random: Math.random,
  });
  controller.start();
  const ops = await listenOps(
    createOpsApp({ ready: () => controller.ready(), renderMetrics: () => metrics.render(), metricsContentType: metrics.registry.contentType }),
    config.http.host,
    config.http.port,
  );
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

/** Runs until SIGINT or SIGTERM, then stops gracefully. Resolves with the exit code. */
export async function runCommand(config: Config): Promise<number> {
  const broker = await startBroker(config);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await broker.stop();
  return 0;
}
