// The broker's own identity refused (401/403) by Kubernetes or Vault: told to the operator once per streak, counted once, never a verdict.
import type { Logger } from "pino";
import { FailureStreak } from "../runtime/failure-streak.js";
import type { CounterLike } from "../runtime/telemetry.js";

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
