// The shared layer in front of a provider: verifications and discoveries cached by credential fingerprint and scope, identical calls joined, concurrency bounded.
import { discoverFailure } from "../../model/cloud-results.js";
import { toCredbrokerError } from "../../model/errors.js";
import type { CloudTelemetry } from "../../runtime/telemetry.js";
import type { CacheKeyParts, CloudName, CloudProvider, DiscoverContext, DiscoverResult, VerifyResult } from "../provider.js";
import type { Clock } from "../../runtime/clock.js";
import { Fingerprinter } from "./fingerprint.js";
import { ConcurrencyLimiter } from "../../runtime/pools/concurrency-limiter.js";
import { SharedResults } from "../../runtime/cache/shared-results.js";

export interface SharedProviderOptions {
  /** `controller.cacheTtlMs`: how long a valid or rejected result is shared. */
  cacheTtlMs: number;
  /** How long an `unknown` result is shared; default 0 (never), so a passing fault is retried at once. */
  unknownTtlMs?: number;
  /** Provider computations (verifications plus discoveries) in flight at once; default 16. */
  concurrency?: number;
  clock: Pick<Clock, "now">;
  telemetry: CloudTelemetry;
  /** Cached results kept at most per kind; default 10,000. */
  maxEntries?: number;
  /**
   * `controller.shareResults`; default true. False: every call computes its own answer, never cached
   * nor joined (the naive baseline the benchmarks measure sharing against).
   */
  share?: boolean;
}

export interface SharedCallOptions {
  /**
   * Skip the cache (forced re-verification). An identical call in flight is joined only if it was
   * itself started by a forced request (see SharedResults).
   */
  fresh?: boolean;
  /** Told how the call was answered: `true` from a shared result (cached or joined), `false` by a computation of its own. */
  onAnswer?: (shared: boolean) => void;
}

/**
 * Wraps a CloudProvider with the same interface. Keys are `provider | HMAC(secrets) | scope`, so
 * 1,000 upstreams sharing one credential, region and options cost one call per TTL; where the
 * provider can widen a discovery, upstreams that differ only by name filter share one listing too.
 * A discovery is guarded by a verification: the caller's (`context.identity`, when it verified
 * these credentials itself, as fresh as this discovery) or else the shared one. Valid answers
 * carry `verifiedAtMs`, when the cloud gave them, so a shared answer is never reported as newer
 * than it is. Never throws.
 */
export class SharedProvider<V, D extends V> implements CloudProvider<V, D> {
  readonly name: CloudName;
  private readonly fingerprints = new Fingerprinter();
  private readonly limiter: ConcurrencyLimiter;
  private readonly verifications: SharedResults<VerifyResult>;
  private readonly discoveries: SharedResults<DiscoverResult>;

  constructor(
    private readonly provider: CloudProvider<V, D>,
    private readonly options: SharedProviderOptions,
  ) {
    this.name = provider.name;
    this.limiter = new ConcurrencyLimiter(options.concurrency ?? 16);
    const common = { clock: options.clock, ttlMs: options.cacheTtlMs, shortTtlMs: options.unknownTtlMs ?? 0, maxEntries: options.maxEntries ?? 10_000 };
    this.verifications = new SharedResults<VerifyResult>({ ...common, ttlFor: (r) => (r.status === "unknown" ? "short" : "normal") });
    this.discoveries = new SharedResults<DiscoverResult>({ ...common, ttlFor: (r) => (r.status === "unknown" ? "short" : "normal") });
  }

  verifyKey(request: V): CacheKeyParts {
    return this.provider.verifyKey(request);
  }

  discoverKey(request: D): CacheKeyParts {
    return this.provider.discoverKey(request);
  }

  /** Shared verification; I/O only on a miss. */
  async verify(request: V, options: SharedCallOptions = {}): Promise<VerifyResult> {
    const key = this.keyOf("verify", this.provider.verifyKey(request));
    const compute = (): Promise<VerifyResult> => this.limiter.run(() => this.stamped(this.provider.verify(request)));
    try {
      return await this.answer(this.verifications, "verify", key, options, compute);
    } catch (err) {
      // Providers never throw; this is a bug in one, reported as a transient internal fault.
      return { status: "unknown", error: toCredbrokerError(err, `${this.name} verification`) };
    }
  }

  /** Shared discovery behind a verification (the caller's, or the shared one); I/O only on a miss. */
  async discover(request: D, context: DiscoverContext = {}, options: SharedCallOptions = {}): Promise<DiscoverResult> {
    const verified = context.identity !== undefined ? { identity: context.identity } : await this.verify(request, options);
    if ("status" in verified && verified.status !== "valid") return discoverFailure(verified);
    const widened = this.provider.widen?.(request);
    const shared = widened?.request ?? request;
    const key = this.keyOf("discover", this.provider.discoverKey(shared));
    const compute = (): Promise<DiscoverResult> => this.limiter.run(() => this.provider.discover(shared, { ...context, identity: verified.identity }));
    try {
      const value = await this.answer(this.discoveries, "discover", key, options, compute);
      return widened !== undefined && value.status === "listed" ? { ...value, functions: widened.narrow(value.functions) } : value;
    } catch (err) {
      return { status: "unknown", error: toCredbrokerError(err, `${this.name} discovery`) };
    }
  }

  /** The shared answer for `key` (or, with sharing off, one computed for this call alone), counted and told to the caller. */
  private async answer<T>(results: SharedResults<T>, kind: "verify" | "discover", key: string, options: SharedCallOptions, compute: () => Promise<T>): Promise<T> {
    if (this.options.share === false) {
      options.onAnswer?.(false);
      return compute();
    }
    const { value, outcome } = await results.get(key, options.fresh ?? false, compute);
    this.options.telemetry.cloudCache.inc({ kind, result: outcome });
    options.onAnswer?.(outcome !== "miss");
    return value;
  }

  /** A provider's valid answer with the time it was given, so the result keeps its age in the cache. */
  private async stamped(answer: Promise<VerifyResult>): Promise<VerifyResult> {
    const result = await answer;
    return result.status === "valid" ? { ...result, verifiedAtMs: this.options.clock.now() } : result;
  }

  private keyOf(kind: "verify" | "discover", parts: CacheKeyParts): string {
    return `${this.name}|${kind}|${this.fingerprints.of(parts.secrets)}|${JSON.stringify(parts.scope)}`;
  }
}
