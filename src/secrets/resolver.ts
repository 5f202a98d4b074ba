// SecretResolver: tries the configured secret sources in order, scrubs what it resolves from logs, and maps rotations to the upstreams that use them.
import type { Logger } from "pino";
import { secretValuesOf } from "../model/credentials.js";
import { SecretNotFoundError, ValidationError } from "../model/errors.js";
import type { Redactor } from "../runtime/redact.js";
import type { SecretRef } from "../model/upstream.js";
import { refKey } from "./change-listeners.js";
import type { ResolvedSecret, SecretRequest, SecretSource, SecretSourceName } from "./secret-source.js";

export interface SecretResolverOptions {
  /** The sources that are configured, each at most once. */
  sources: readonly SecretSource[];
  /** `secrets.sources`: the order sources are tried in (Gloo's own order is kubernetes, then vault). */
  order: readonly SecretSourceName[];
  /**
   * Every resolved value is scrubbed here wherever it shows up: retained while some upstream
   * tracks its secret (so no number of other secrets can push it out), released when the last
   * one lets go; values of untracked lookups are registered without an owner.
   */
  redactor: Redactor;
  logger: Logger;
}

export interface ResolveRequest extends SecretRequest {
  /** The upstream's `credbroker.io/secret-source` annotation, already parsed: only this source is asked. */
  override?: SecretSourceName | undefined;
}

/** Told which upstreams use a secret that changed, and which secret it was. */
export type RotationListener = (upstreamKeys: string[], ref: SecretRef) => void;

/**
 * Resolves references across sources and keeps the secret → upstream index. No I/O of its own;
 * `resolve` does the sources' I/O.
 */
export class SecretResolver {
  private readonly byName = new Map<SecretSourceName, SecretSource>();
  private readonly upstreamsByRef = new Map<string, Set<string>>();
  private readonly refsByUpstream = new Map<string, Set<string>>();
  /** Redactor owners per tracked ref: one per source and material kind the ref was resolved as. */
  private readonly ownersByRef = new Map<string, Set<string>>();
  private readonly listeners = new Set<RotationListener>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly options: SecretResolverOptions) {
    for (const source of options.sources) {
      this.byName.set(source.name, source);
      this.unsubscribe.push(source.onChange((ref) => this.rotated(ref)));
    }
  }

  /**
   * Asks each source in order (or only the override): SecretNotFoundError moves on to the next,
   * any other error stops and is rethrown. Registers the resolved values with the Redactor.
   * Throws SecretNotFoundError when no source has it, ValidationError(InvalidSpec) when the
   * override names a source that is not configured, else what the source threw.
   */
  async resolve(request: ResolveRequest): Promise<ResolvedSecret> {
    const names = this.plan(request.override);
    const { override: _override, ...sourceRequest } = request;
    let lastNotFound: SecretNotFoundError | undefined;
    for (const name of names) {
      const source = this.byName.get(name);
      if (source === undefined) continue;
      try {
        const resolved = await source.resolve(sourceRequest);
        this.remember(request, resolved);
        return resolved;
      } catch (err) {
        if (!(err instanceof SecretNotFoundError)) throw err;
        lastNotFound = err;
      }
    }
    const { namespace, name } = request.ref;
    if (names.length === 1 && lastNotFound) throw lastNotFound;
    throw new SecretNotFoundError(`secret ${namespace}/${name} not found in ${names.join(" or ")}`, lastNotFound ? { cause: lastNotFound } : {});
  }

  /** Records that `upstreamKey` uses `ref` (in addition to refs tracked before). Idempotent. */
  track(upstreamKey: string, ref: SecretRef): void {
    const key = refKey(ref);
    let upstreams = this.upstreamsByRef.get(key);
    if (!upstreams) this.upstreamsByRef.set(key, (upstreams = new Set()));
    upstreams.add(upstreamKey);
    let refs = this.refsByUpstream.get(upstreamKey);
    if (!refs) this.refsByUpstream.set(upstreamKey, (refs = new Set()));
    refs.add(key);
  }

  /** Forgets every reference of `upstreamKey` (deleted, or about to be re-tracked with new refs). Idempotent. */
  untrack(upstreamKey: string): void {
    for (const key of this.refsByUpstream.get(upstreamKey) ?? []) {
      const upstreams = this.upstreamsByRef.get(key);
      upstreams?.delete(upstreamKey);
      if (upstreams?.size !== 0) continue;
      this.upstreamsByRef.delete(key);
      for (const owner of this.ownersByRef.get(key) ?? []) this.options.redactor.release(owner);
      this.ownersByRef.delete(key);
    }
    this.refsByUpstream.delete(upstreamKey);
  }

  /** How many distinct secrets the tracked upstreams use: what the secret caches are sized from. */
  get trackedRefCount(): number {
    return this.upstreamsByRef.size;
  }

  /** The upstream keys that use `ref`, sorted. */
  upstreamsUsing(ref: SecretRef): string[] {
    return [...(this.upstreamsByRef.get(refKey(ref)) ?? [])].sort();
  }

  /** Calls `listener` with the upstreams to requeue whenever a source reports a changed secret that some upstream uses. */
  onRotation(listener: RotationListener): () => void {
    const entry: RotationListener = (keys, ref) => listener(keys, ref);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Starts every source. */
  async start(): Promise<void> {
    await Promise.all(this.options.sources.map((s) => s.start()));
  }

  /** Stops every source (revoking the Vault token) and detaches from them. Idempotent. */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    await Promise.all(this.options.sources.map((s) => s.stop()));
  }

  private remember(request: ResolveRequest, resolved: ResolvedSecret): void {
    const values = secretValuesOf(resolved.material);
    const key = refKey(request.ref);
    if (!this.upstreamsByRef.has(key)) {
      this.options.redactor.register(...values);
      return;
    }
    // A new version replaces the owner's values; the old ones stay scrubbed for a while as released.
    const owner = `${resolved.source}\u0000${request.expected ?? "any"}\u0000${key}`;
    let owners = this.ownersByRef.get(key);
    if (!owners) this.ownersByRef.set(key, (owners = new Set()));
    owners.add(owner);
    this.options.redactor.retain(owner, values);
  }

  private plan(override: SecretSourceName | undefined): SecretSourceName[] {
    if (override === undefined) return [...this.options.order];
    if (!this.byName.has(override)) {
      throw new ValidationError("InvalidSpec", "metadata.annotations[credbroker.io/secret-source]", `names ${override}, which is not a configured secret source`);
    }
    return [override];
  }

  private rotated(ref: SecretRef): void {
    const keys = this.upstreamsUsing(ref);
    if (keys.length === 0) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(keys, ref);
      } catch (err) {
        this.options.logger.error({ err, namespace: ref.namespace, name: ref.name }, "rotation listener failed");
      }
    }
  }
}
