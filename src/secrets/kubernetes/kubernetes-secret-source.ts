// KubernetesSecretSource: reads referenced Secrets by name, caches them, and learns of rotation from a metadata-only watch fed by the controller.
import type { Logger } from "pino";
import type { SecretMaterial } from "../../model/credentials.js";
import { BrokerNotAuthorizedError, DependencyCallError, SecretNotFoundError, SecretSourceUnavailableError, toCredbrokerError } from "../../model/errors.js";
import { isObject } from "../../model/fields.js";
import { nameOf, resourceVersionOf } from "../../model/object-meta.js";
import { parseKubernetesSecret } from "../../model/secret-formats.js";
import { createSystemClock } from "../../runtime/clock.js";
import { NotAuthorizedStreak } from "../not-authorized-streak.js";
import type { SecretsTelemetry } from "../../runtime/telemetry.js";
import type { SecretRef } from "../../model/upstream.js";
import { ChangeListeners, refKey } from "../change-listeners.js";
import { SecretCache } from "../secret-cache.js";
import type { ResolvedSecret, SecretRequest, SecretSource } from "../secret-source.js";
import type { KubeConfig } from "@kubernetes/client-node";
import { createKubernetesSecretReader, type KubernetesSecretReader } from "./secret-reader.js";
import type { SecretCacheCapacity } from "../secret-cache.js";

export interface KubernetesSecretSourceOptions {
  reader: KubernetesSecretReader;
  /** Parsed secrets kept at most (`secrets.cacheSize`). */
  cacheSize: SecretCacheCapacity;
  logger: Logger;
  telemetry: SecretsTelemetry;
  /**
   * The Kubernetes refusal streak (401/403 to the broker's own identity), shared with the broker's
   * other Kubernetes calls when the caller has one; by default the source keeps its own.
   */
  refusals?: NotAuthorizedStreak;
}

/** The Kubernetes refusal streak: logged and counted once per streak, its fix the broker's RBAC or token. */
export function kubernetesRefusals(deps: { logger: Logger; telemetry: SecretsTelemetry; now?: () => number }): NotAuthorizedStreak {
  const clock = createSystemClock();
  return new NotAuthorizedStreak({
    dependency: "kubernetes",
    logger: deps.logger,
    counter: deps.telemetry.notAuthorizedStreaks,
    now: deps.now ?? (() => clock.monotonicNow()),
    fix: "grant the broker's ServiceAccount what deploy/kustomize/base/rbac.yaml grants (get, list, watch on secrets), or give it a valid token; an upstream that may not use a secret is refused by secrets.refPolicy, not by RBAC",
  });
}

/** Watch event types as the API server sends them; `handleSecretEvent` ignores BOOKMARK, ERROR and anything else. */
export type SecretEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/**
 * A SecretSource over Kubernetes Secrets. It holds only the Secrets someone resolved: the watch
 * that keeps it fresh is metadata-only and owned by the controller, which passes each event to
 * `handleSecretEvent` (src/secrets may not import the controller).
 */
export class KubernetesSecretSource implements SecretSource {
  readonly name = "kubernetes" as const;
  private readonly cache: SecretCache;
  private readonly listeners: ChangeListeners;
  /** Secrets being read now, with the last watch event about them meanwhile (so a stale read is not cached). */
  private readonly reads = new Map<string, { readers: number; events: number; lastVersion: string | null }>();
  private readonly refusals: NotAuthorizedStreak;

  constructor(private readonly options: KubernetesSecretSourceOptions) {
    this.cache = new SecretCache(options.cacheSize, "kubernetes", options.telemetry);
    this.refusals = options.refusals ?? kubernetesRefusals(options);
    this.listeners = new ChangeListeners(options.logger);
  }

  /**
   * GETs the Secret (cached unless `fresh`). Throws SecretNotFoundError, BrokerNotAuthorizedError
   * (401/403: the broker's token or RBAC, transient, never a verdict), SecretSourceUnavailableError,
   * CredbrokerError(InternalError) for another 4xx (the broker asked wrongly), or
   * ValidationError(SecretMalformed) naming the key. A refused read drops the cached copy, so until
   * the broker is authorized again every resolve asks the API server and says it was refused.
   */
  async resolve(request: SecretRequest): Promise<ResolvedSecret> {
    const { ref, expected } = request;
    const location = `kubernetes:${ref.namespace}/${ref.name}`;
    try {
      if (request.fresh !== true) {
        const hit = this.cache.lookup(ref, expected);
        if (hit) return hit;
      }
      // A Secret that changes while it is read is read again (once): the copy read may be the
      // older one, and answering with it could reject an upstream whose new key is already in place.
      let secret: unknown;
      let version = "";
      for (let attempt = 1; ; attempt++) {
        const read = this.beginRead(ref);
        try {
          secret = await this.options.reader.read(ref.namespace, ref.name);
        } catch (err) {
          this.noteAuthorization(ref, err);
          if (err instanceof SecretNotFoundError && read.overtaken()) {
            if (attempt < 2) continue;
            throw new SecretSourceUnavailableError(`Kubernetes Secret ${ref.namespace}/${ref.name} kept changing while it was read`);
          }
          if (err instanceof SecretNotFoundError) this.cache.rememberAbsent(ref, location);
          throw err;
        } finally {
          read.end();
        }
        this.refusals.authorized(refKey(ref));
        version = (isObject(secret) ? resourceVersionOf(secret) : undefined) ?? "";
        if (!read.overtaken(version)) break;
        this.cache.markStale(ref, null);
        if (attempt >= 2) throw new SecretSourceUnavailableError(`Kubernetes Secret ${ref.namespace}/${ref.name} kept changing while it was read`);
      }
      let material: SecretMaterial;
      try {
        material = parseKubernetesSecret(secret, expected);
      } catch (err) {
        this.cache.remember(ref, location, version, expected, undefined);
        throw err;
      }
      this.cache.remember(ref, location, version, expected, material);
      return { material, source: "kubernetes", version, location };
    } catch (err) {
      throw toCredbrokerError(err, `Kubernetes Secret ${ref.namespace}/${ref.name}`);
    }
  }

  /** A refusal joins the streak and drops the cached copy; a 404 is an answer the broker was authorized to get. */
  private noteAuthorization(ref: SecretRef, err: unknown): void {
    const subject = refKey(ref);
    if (err instanceof SecretNotFoundError) {
      this.refusals.authorized(subject);
      return;
    }
    if (!(err instanceof BrokerNotAuthorizedError)) return;
    const status = err.cause instanceof DependencyCallError ? err.cause.status : undefined;
    this.refusals.refused({ operation: "get secret", subject, status, why: err.message });
    const entry = this.cache.peek(ref);
    if (entry !== undefined) this.cache.markStale(ref, entry.version);
  }

  onChange(listener: (ref: SecretRef) => void): () => void {
    return this.listeners.add(listener);
  }

  /**
   * Marks a read of `ref` in flight. `overtaken(version)` says whether the watch reported, while it
   * ran, a version other than the one read (or a delete): then the copy read may be the older one.
   * resourceVersions are compared for equality only, never ordered, as the API asks.
   */
  private beginRead(ref: SecretRef): { overtaken(version?: string): boolean; end(): void } {
    const key = refKey(ref);
    const state = this.reads.get(key) ?? { readers: 0, events: 0, lastVersion: null };
    state.readers++;
    this.reads.set(key, state);
    const eventsAtStart = state.events;
    let ended = false;
    return {
      overtaken: (version) => state.events > eventsAtStart && (version === undefined || state.lastVersion !== version),
      end: () => {
        if (ended) return;
        ended = true;
        if (--state.readers === 0) this.reads.delete(key);
      },
    };
  }

  /**
   * Feeds one event of a metadata-only Secret watch (`object.metadata` of a PartialObjectMetadata,
   * or of a full Secret). A tracked Secret whose resourceVersion changed, that was deleted, or that
   * appeared after being looked up while absent, loses its cached material and listeners are told.
   * Untracked Secrets are ignored. Returns whether listeners were notified. Pure apart from the cache.
   */
  handleSecretEvent(type: string, metadata: unknown): boolean {
    if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") return false;
    // The controller hands over only `metadata`; wrapped, it is an object the readers understand.
    const object = { metadata };
    const ref: SecretRef = nameOf(object);
    if (ref.namespace === "" || ref.name === "") return false;
    const reading = this.reads.get(refKey(ref));
    if (reading !== undefined) {
      reading.events++;
      reading.lastVersion = type === "DELETED" ? null : (resourceVersionOf(object) ?? null);
    }
    const entry = this.cache.peek(ref);
    if (entry === undefined) return false;
    if (type === "DELETED") {
      if (entry.version === null) return false;
      this.cache.rememberAbsent(ref, entry.location);
    } else {
      const version = resourceVersionOf(object) ?? null;
      if (version !== null && version === entry.version) return false;
      this.cache.markStale(ref, version);
    }
    this.options.logger.info({ location: entry.location, change: type === "DELETED" ? "deleted" : "rotated" }, "Kubernetes Secret changed");
    this.listeners.notify(ref);
    return true;
  }

  /** Nothing to start: the controller owns the watch. Idempotent. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Forgets every cached Secret. Idempotent. */
  stop(): Promise<void> {
    this.cache.clear();
    return Promise.resolve();
  }
}

/** Builds the source over client-node for `kubeConfig`. No I/O until the first resolve. */
export function createKubernetesSecretSource(
  kubeConfig: KubeConfig,
  settings: { cacheSize: SecretCacheCapacity; requestTimeoutMs?: number },
  deps: { logger: Logger; telemetry: SecretsTelemetry; refusals?: NotAuthorizedStreak },
): KubernetesSecretSource {
  const reader = createKubernetesSecretReader(kubeConfig, { requestTimeoutMs: settings.requestTimeoutMs ?? 10_000 });
  return new KubernetesSecretSource({
    reader,
    cacheSize: settings.cacheSize,
    logger: deps.logger.child({ component: "kubernetes-secrets" }),
    telemetry: deps.telemetry,
    ...(deps.refusals === undefined ? {} : { refusals: deps.refusals }),
  });
}
