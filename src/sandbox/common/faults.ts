// Fault injection shared by every emulator: latency, errors, throttling and outages, settable while running.
import type { ServerResponse } from "node:http";
import { dropConnection } from "./http-server.js";

export interface FaultSettings {
  /** Added to every request, in milliseconds. */
  latencyMs: number;
  /** Fraction 0..1 of requests answered with a server error (5xx in the emulator's own shape). */
  errorRate: number;
  /** Fraction 0..1 of requests answered as throttled (429 / ThrottlingException, with Retry-After). */
  throttleRate: number;
  /** When true every request fails as if the service were down (connection reset or 503). */
  outage: boolean;
  /** Only requests whose operation name matches one of these are affected; empty means all. */
  operations: string[];
}

export type FaultDecision = { kind: "pass" } | { kind: "error" } | { kind: "throttle"; retryAfterSeconds: number } | { kind: "outage" };

export const NO_FAULTS: FaultSettings = { latencyMs: 0, errorRate: 0, throttleRate: 0, outage: false, operations: [] };

/** Holds one server's fault settings; `random` is injectable so tests can make decisions deterministic. */
export class FaultInjector {
  private settings: FaultSettings = { ...NO_FAULTS };

  constructor(private readonly random: () => number = Math.random) {}

  get current(): FaultSettings {
    return { ...this.settings, operations: [...this.settings.operations] };
  }

  set(partial: Partial<FaultSettings>): FaultSettings {
    this.settings = { ...this.settings, ...partial };
    return this.current;
  }

  reset(): void {
    this.settings = { ...NO_FAULTS };
  }

  /** Decides what happens to one request of `operation`, after waiting the configured latency. */
  async decide(operation: string): Promise<FaultDecision> {
    const s = this.settings;
    if (s.operations.length > 0 && !s.operations.includes(operation)) return { kind: "pass" };
    if (s.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, s.latencyMs));
    if (s.outage) return { kind: "outage" };
    if (s.throttleRate > 0 && this.random() < s.throttleRate) return { kind: "throttle", retryAfterSeconds: 1 };
    if (s.errorRate > 0 && this.random() < s.errorRate) return { kind: "error" };
    return { kind: "pass" };
  }
}

/** How one emulator counts and answers an injected fault, in its own service's shapes. */
export interface FaultReplies {
  /** Counts the request under the outcome of its fault. */
  record(outcome: "outage" | "throttled" | "error"): void;
  /** Answers a throttled request (429 or the service's own throttling error) with its Retry-After. */
  throttled(retryAfterSeconds: number): void;
  /** Answers a request failed by an injected server error. */
  failed(): void;
}

/**
 * Decides the fault for one request of `operation` (after any configured latency) and, unless it
 * passes, counts and answers it: an outage drops the connection, throttling and errors get the
 * emulator's own replies. Resolves true when the request has been answered.
 */
export async function answerFault(faults: FaultInjector, operation: string, res: ServerResponse, replies: FaultReplies): Promise<boolean> {
  const decision = await faults.decide(operation);
  switch (decision.kind) {
    case "pass":
      return false;
    case "outage":
      replies.record("outage");
      dropConnection(res);
      return true;
    case "throttle":
      replies.record("throttled");
      replies.throttled(decision.retryAfterSeconds);
      return true;
    case "error":
      replies.record("error");
      replies.failed();
      return true;
  }
}
