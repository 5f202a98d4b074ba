// Starts the sandbox and brokers configured against it, the way an operator would point credbroker at a cluster.
import { buildConfig, type Config } from "../../src/config.js";
import { startBroker, type Broker } from "../../src/commands/run.js";
import { brokerSettingsFor, type Sandbox } from "../../src/sandbox/index.js";
import { captureStream } from "./capture.js";

/** Settings that point a broker at the sandbox, as flags would; `extra` overrides any of them. */
export function sandboxConfig(sandbox: Sandbox, extra: Record<string, unknown> = {}): Config {
  return buildConfig({ flags: sandboxFlags(sandbox, extra) });
}

/** The setting path → value map behind sandboxConfig, e.g. to write a config file for a broker process. */
export function sandboxFlags(sandbox: Sandbox, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...brokerSettingsFor(sandbox.info),
    "http.port": 0,
    "leader.leaseDurationMs": "3s",
    "leader.renewDeadlineMs": "2s",
    "leader.retryPeriodMs": "250ms",
    "controller.backoffMinMs": "100ms",
    "controller.backoffMaxMs": "2s",
    "log.level": "debug",
    ...extra,
  };
}

export interface HarnessBroker extends Broker {
  /** Every log line this broker wrote, as text. */
  logs: string[];
}

/** Starts a broker whose log lines are kept for assertions (and to prove no secret reaches them). */
export async function startTestBroker(config: Config): Promise<HarnessBroker> {
  const { stream, chunks } = captureStream();
  const broker = await startBroker(config, { logDestination: stream });
  return Object.assign(broker, { logs: chunks });
}

/** Polls until `condition` holds; throws after `timeoutMs` naming `what`. */
export async function eventually<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** As `eventually`, for a probe that must await (a metric read, an HTTP call); each probe ends before the next. */
export async function eventuallyAsync<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
