// Test helper: a real credbroker logger (createLogger + Redactor) whose lines the test can read back.
import { expect } from "vitest";
import { createLogger, Redactor, type Logger } from "../../src/observability/log.js";
import { captureStream } from "../support/capture.js";

export interface CapturedLog {
  logger: Logger;
  lines: string[];
  /** Every error a test saw thrown, so their messages can be checked with the log lines. */
  errors: unknown[];
  /** Records `err` and returns it, for `expect(keep(await failure))` chains. */
  keep<T>(err: T): T;
}

/**
 * A trace-level logger over a Redactor that has registered nothing: if a value does not appear,
 * it is because the code never wrote it, not because the redactor scrubbed it.
 */
export function captureLog(): CapturedLog {
  const { stream, chunks } = captureStream();
  const errors: unknown[] = [];
  return {
    logger: createLogger({ level: "trace", destination: stream }, new Redactor()),
    lines: chunks,
    errors,
    keep: (err) => {
      errors.push(err);
      return err;
    },
  };
}

function messagesOf(err: unknown, depth = 0): string[] {
  if (!(err instanceof Error) || depth > 5) return [];
  return [err.message, String(err.stack ?? ""), ...messagesOf(err.cause, depth + 1)];
}

/** Asserts none of `values` occurs in the captured lines or in any kept error's message, stack or causes. */
export function expectNoValues(log: CapturedLog, values: readonly string[]): void {
  const text = [...log.lines, ...log.errors.flatMap((e) => messagesOf(e))].join("\n");
  for (const value of values) expect(text.includes(value), `a secret value leaked into logs or errors`).toBe(false);
}

/** Awaits a promise that must reject; returns the rejection (kept for the leak check). */
export async function failureOf(log: CapturedLog, promise: Promise<unknown>): Promise<unknown> {
  const err = await promise.then(
    () => new Error("expected a failure, but the call succeeded"),
    (e: unknown) => e,
  );
  return log.keep(err);
}
