// Fault injection shared by every emulator: latency, errors, throttling, outages, refusals, hangs, write conflicts and clock offset, settable while running.
import type { ServerResponse } from "node:http";
import { parseFaultSettings } from "./fault-settings.js";
import { dropConnection } from "./http-server.js";

export { FaultSettingsError, FAULT_SETTING_NAMES } from "./fault-settings.js";

export interface FaultSettings {
  /** Added to every request, in milliseconds. */
  latencyMs: number;
  /** Fraction 0..1 of requests answered with a server error (5xx in the emulator's own shape). */
  errorRate: number;
  /** Fraction 0..1 of requests answered as throttled (429 / ThrottlingException, with Retry-After). */
  throttleRate: number;
  /** When true every request fails as if the service were down (connection reset or 503). */
  outage: boolean;
  /** Fraction 0..1 of requests refused as unauthenticated or forbidden (`denyStatus`), in the service's own shape. */
  denyRate: number;
  /** The status a denied request gets: 401 (credentials not accepted) or 403 (not permitted). */
  denyStatus: 401 | 403;
  /** When true every affected request is accepted and never answered (the client's deadline must end it). */
  hang: boolean;
  /** Fraction 0..1 of write requests answered 409 Conflict (Kubernetes only; other emulators ignore it). */
  conflictRate: number;
  /** Fraction 0..1 of write requests applied and then left unanswered, the connection dropped (Kubernetes only). */
  lostResponseRate: number;
  /** How far the emulator's clock runs ahead of the real one (negative: behind), in milliseconds. */
  clockOffsetMs: number;
  /** Only requests whose operation name matches one of these are affected; empty means all. Does not limit `clockOffsetMs`. */
  operations: string[];
}

export type FaultDecision =
  | { kind: "pass" }
  | { kind: "error" }
  | { kind: "throttle"; retryAfterSeconds: number }
  | { kind: "outage" }
  | { kind: "deny"; status: 401 | 403 }
  | { kind: "hang" }
  | { kind: "conflict" };

/** What happens to a write once it has passed authentication and authorisation (emulators with optimistic concurrency only). */
export type WriteFaultDecision = { kind: "pass" } | { kind: "conflict" } | { kind: "lostResponse" };

export const NO_FAULTS: FaultSettings = {
  latencyMs: 0,
  errorRate: 0,
  throttleRate: 0,
  outage: false,
  denyRate: 0,
  denyStatus: 403,
  hang: false,
  conflictRate: 0,
  lostResponseRate: 0,
  clockOffsetMs: 0,
  operations: [],
};

/**
 * Holds one server's fault settings; `random` is injectable so tests can make decisions
 * deterministic. `operationNames`, when given, is the emulator's own list of operation names:
 * settings naming any other operation are refused instead of silently injecting nothing.
 */
export class FaultInjector {
  private settings: FaultSettings = { ...NO_FAULTS };

  constructor(
    private readonly random: () => number = Math.random,
    readonly operationNames?: readonly string[],
  ) {}

  get current(): FaultSettings {
    return { ...this.settings, operations: [...this.settings.operations] };
  }

  /** Merges `partial` into the settings. Throws FaultSettingsError (and changes nothing) when a value is out of range or an operation unknown. */
  set(partial: Partial<FaultSettings>): FaultSettings {
    return this.update(partial);
  }

  /** `set` for untrusted input (parsed JSON): also refuses unknown names and wrong types, with FaultSettingsError naming the field. */
  update(input: unknown): FaultSettings {
    this.settings = { ...this.settings, ...parseFaultSettings(input, this.operationNames) };
    return this.current;
  }

  reset(): void {
    this.settings = { ...NO_FAULTS };
  }

  /** The emulator's clock: `base` moved by the current `clockOffsetMs`, read on every call so a change applies at once. */
  offsetClock(base: () => number): () => number {
    return () => base() + this.settings.clockOffsetMs;
  }

  private targets(operation: string): boolean {
    return this.settings.operations.length === 0 || this.settings.operations.includes(operation);
  }

  /**
   * Decides what happens to one request of `operation`, after waiting the configured latency. A
   * request marked `write` may also be decided `conflict` (`conflictRate`), for emulators that
   * answer conflicts before looking at the request; Kubernetes decides its write faults later,
   * with `decideWrite`.
   */
  async decide(operation: string, request: { write?: boolean } = {}): Promise<FaultDecision> {
    if (!this.targets(operation)) return { kind: "pass" };
    const s = this.settings;
    if (s.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, s.latencyMs));
    if (s.outage) return { kind: "outage" };
    if (s.hang) return { kind: "hang" };
    if (s.denyRate > 0 && this.random() < s.denyRate) return { kind: "deny", status: s.denyStatus };
    if (s.throttleRate > 0 && this.random() < s.throttleRate) return { kind: "throttle", retryAfterSeconds: 1 };
    if (s.errorRate > 0 && this.random() < s.errorRate) return { kind: "error" };
    if (request.write === true && s.conflictRate > 0 && this.random() < s.conflictRate) return { kind: "conflict" };
    return { kind: "pass" };
  }

  /**
   * Decides what happens to one write of `operation` that the emulator is about to apply: a
   * conflict (refused unapplied, as a stale resourceVersion is) or a lost response (applied, then
   * the connection dropped). `canConflict: false` for writes that carry no version to be stale
   * (creates, deletes): they can only lose their response. Synchronous, so the emulator can decide
   * right where it writes.
   */
  decideWrite(operation: string, write: { canConflict?: boolean } = {}): WriteFaultDecision {
    if (!this.targets(operation)) return { kind: "pass" };
    const s = this.settings;
    if (write.canConflict !== false && s.conflictRate > 0 && this.random() < s.conflictRate) return { kind: "conflict" };
    if (s.lostResponseRate > 0 && this.random() < s.lostResponseRate) return { kind: "lostResponse" };
    return { kind: "pass" };
  }
}

/** How one emulator counts and answers an injected fault, in its own service's shapes. */
export interface FaultReplies {
  /** Counts the request under the outcome of its fault. */
  record(outcome: "outage" | "throttled" | "error" | "denied" | "hung" | "conflict"): void;
  /** Answers a throttled request (429 or the service's own throttling error) with its Retry-After. */
  throttled(retryAfterSeconds: number): void;
  /** Answers a request failed by an injected server error. */
  failed(): void;
  /** Answers a request refused with 401 or 403, in the service's own error shape. */
  denied(status: 401 | 403): void;
  /** Answers a write with 409 Conflict (only emulators with optimistic concurrency decide `conflict`). */
  conflict?(): void;
}

/**
 * Decides the fault for one request of `operation` (after any configured latency) and, unless it
 * passes, counts and answers it: an outage drops the connection, a hang leaves it open and
 * unanswered (the server's close() still ends it), the rest get the emulator's own replies
 * (a conflict without a `conflict` reply is answered as a server error).
 * Resolves true when the request has been dealt with and the caller must not answer it.
 */
export async function answerFault(faults: FaultInjector, operation: string, res: ServerResponse, replies: FaultReplies, request: { write?: boolean } = {}): Promise<boolean> {
  const decision = await faults.decide(operation, request);
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
    case "deny":
      replies.record("denied");
      replies.denied(decision.status);
      return true;
    case "hang":
      // Accepted and never answered: the socket stays open until the client gives up or the server closes.
      replies.record("hung");
      return true;
    case "conflict":
      replies.record("conflict");
      if (replies.conflict === undefined) replies.failed();
      else replies.conflict();
      return true;
  }
}
