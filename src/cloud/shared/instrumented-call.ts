// The one wrapper every provider call goes through: it times the call, counts it, and classifies and scrubs its error.
import type { CloudTelemetry } from "../../runtime/telemetry.js";
import type { CloudName } from "../provider.js";
import type { CloudCallError } from "./call-error.js";
import type { Clock } from "../../runtime/clock.js";

/** Turns anything an SDK threw into a CloudCallError with no secret in it. Pure. */
export type Classifier = (err: unknown, operation: string, secrets: readonly string[]) => CloudCallError;

export interface CallContext {
  provider: CloudName;
  telemetry: CloudTelemetry;
  /** Milliseconds, for the duration histogram. */
  clock: Pick<Clock, "now">;
  classify: Classifier;
}

/**
 * Runs `call` once. Records `providerCalls{provider, operation, result}` (result `ok` or the
 * reason) and `providerCallSeconds`. Resolves with the call's value or throws a CloudCallError
 * built by the classifier from the SDK error and the call's `secrets` (which it scrubs).
 */
export async function instrumentedCall<T>(ctx: CallContext, operation: string, secrets: readonly string[], call: () => Promise<T>): Promise<T> {
  const startedMs = ctx.clock.now();
  const labels = { provider: ctx.provider, operation };
  try {
    const value = await call();
    ctx.telemetry.providerCalls.inc({ ...labels, result: "ok" });
    return value;
  } catch (err) {
    const error = ctx.classify(err, operation, secrets);
    ctx.telemetry.providerCalls.inc({ ...labels, result: error.reason });
    throw error;
  } finally {
    ctx.telemetry.providerCallSeconds.observe(labels, Math.max(0, ctx.clock.now() - startedMs) / 1000);
  }
}
