// Streaks of failures of one dependency: opened by the first failure, closed when what failed works again, so a standing fault is logged and counted once rather than once per attempt.
import type { Logger } from "pino";
import type { CounterLike } from "./telemetry.js";

/** How a streak ended, for its closing log line. */
export interface StreakSummary {
  /** Failures recorded from the streak's first to its last. */
  failures: number;
  /** From the first failure to the end of the streak. */
  durationMs: number;
  /** `succeeded`: every key that failed worked again; `quiet`: the keys left did not fail again for `quietMs` (never tried again, e.g. the upstream was deleted). */
  ended: "succeeded" | "quiet";
}

export interface FailureStreakOptions<Detail> {
  /** Milliseconds on any clock that does not run backwards. */
  now: () => number;
  /** The streak's first failure. */
  onStart: (first: Detail) => void;
  onEnd: (summary: StreakSummary) => void;
  /** A key that has not failed again for this long no longer holds the streak open. Default 15 min, above the longest retry backoff (5 min). */
  quietMs?: number;
}

const DEFAULT_QUIET_MS = 15 * 60_000;

/**
 * One dependency's failure streak, tracked per key (what failed: a Secret, a Vault path). A
 * success ends the streak only once every key that failed during it has worked again: a success
 * elsewhere says nothing about the key still failing, and ending on it would open a new streak (a
 * new log line, a new count) at the next failure. No I/O; the callbacks run synchronously.
 */
export class FailureStreak<Detail> {
  private open: { sinceMs: number; failures: number; failing: Map<string, number> } | undefined;

  constructor(private readonly options: FailureStreakOptions<Detail>) {}

  /** Whether a streak is open now. */
  get active(): boolean {
    return this.open !== undefined;
  }

  /** Records a failure of `key`; opens the streak (and calls onStart) when none is open. Returns whether it opened one. */
  failed(key: string, detail: Detail): boolean {
    const now = this.options.now();
    this.closeIfQuiet(now);
    const open = this.open;
    if (open !== undefined) {
      open.failures++;
      open.failing.set(key, now);
      return false;
    }
    this.open = { sinceMs: now, failures: 1, failing: new Map([[key, now]]) };
    this.options.onStart(detail);
    return true;
  }

  /** Records that `key` works; ends the streak (and calls onEnd) when no key of it is still failing. */
  succeeded(key: string): void {
    const open = this.open;
    if (open === undefined) return;
    const now = this.options.now();
    if (open.failing.delete(key) && open.failing.size === 0) this.close(now, "succeeded");
    else this.closeIfQuiet(now);
  }

  private closeIfQuiet(now: number): void {
    const open = this.open;
    if (open === undefined) return;
    const quietMs = this.options.quietMs ?? DEFAULT_QUIET_MS;
    for (const [key, lastMs] of open.failing) if (now - lastMs >= quietMs) open.failing.delete(key);
    if (open.failing.size === 0) this.close(now, "quiet");
  }

  private close(now: number, ended: StreakSummary["ended"]): void {
    const open = this.open;
    if (open === undefined) return;
    this.open = undefined;
    this.options.onEnd({ failures: open.failures, durationMs: now - open.sinceMs, ended });
  }
}

/** The dependencies whose refusals of the broker's identity are tracked (`credbroker_broker_not_authorized_streaks_total{dependency}`). */
export type AuthorizingDependency = "kubernetes" | "vault";

/** One refusal of the broker's own identity: what was asked, of what, and what the operator should fix. Never a token or a value. */
export interface Refusal {
  /** The call refused, e.g. `get secret`, `read`. */
  operation: string;
  /** What it was about: `namespace/name`, a Vault path. */
  subject: string;
  /** The HTTP status (401 or 403), when the dependency answered one. */
  status?: number | undefined;
  /** The error's message (names the call and status, never a value). */
  why: string;
}

export interface NotAuthorizedStreakOptions {
  dependency: AuthorizingDependency;
  logger: Logger;
  /** `credbroker_broker_not_authorized_streaks_total`, labelled `{dependency}`. */
  counter: CounterLike;
  now: () => number;
  /** What to fix, said in the streak's first log line: the RBAC rule, the Vault policy. */
  fix: string;
  quietMs?: number;
}

/**
 * Refusals of the broker's own identity (401/403) by one dependency. A refusal says the broker is
 * misconfigured (its RBAC, its Vault policy, its token), never something about an upstream: the
 * operator is told once per streak (warn, naming the call, the subject and the fix), again when
 * it ends (info: after how many refusals and how long), and the counter goes up once per streak.
 * A streak is per dependency: a fleet of upstreams refused together is one streak. Keys are the
 * subjects (a Secret, a Vault path): the streak ends once every subject refused was authorized again.
 */
export class NotAuthorizedStreak {
  private readonly streak: FailureStreak<Refusal>;
  private first: Refusal | undefined;

  constructor(private readonly options: NotAuthorizedStreakOptions) {
    const { dependency, logger, counter, fix } = options;
    this.streak = new FailureStreak<Refusal>({
      now: options.now,
      ...(options.quietMs === undefined ? {} : { quietMs: options.quietMs }),
      onStart: (r) => {
        this.first = r;
        counter.inc({ dependency });
        logger.warn(
          { dependency, operation: r.operation, subject: r.subject, ...(r.status === undefined ? {} : { status: r.status }), why: r.why, fix },
          `${label(dependency)} refuses the broker's own identity (${r.operation} ${r.subject}): not a verdict on any upstream; the last verdicts stand and the calls are retried with backoff until it is fixed`,
        );
      },
      onEnd: (s) => {
        const first = this.first;
        this.first = undefined;
        logger.info(
          { dependency, refusals: s.failures, notAuthorizedForMs: s.durationMs, ended: s.ended, ...(first === undefined ? {} : { operation: first.operation, subject: first.subject }) },
          s.ended === "succeeded" ? `${label(dependency)} authorizes the broker again` : `${label(dependency)} has not refused the broker for a while; streak closed`,
        );
      },
    });
  }

  /** Whether a streak is open now. */
  get active(): boolean {
    return this.streak.active;
  }

  /** Records a refusal (keyed by its subject); the first of a streak is logged and counted, the others at debug. */
  refused(refusal: Refusal): void {
    if (!this.streak.failed(refusal.subject, refusal)) {
      this.options.logger.debug({ dependency: this.options.dependency, operation: refusal.operation, subject: refusal.subject, why: refusal.why }, "still refused");
    }
  }

  /** Records that a call about `subject` was authorized (it succeeded, or the dependency answered it, e.g. 404). */
  authorized(subject: string): void {
    this.streak.succeeded(subject);
  }
}

function label(dependency: AuthorizingDependency): string {
  return dependency === "kubernetes" ? "Kubernetes" : "Vault";
}
