// VaultSecretSource: reads Gloo secrets from Vault KV through one TokenManager, caches them, and polls cached ones for rotation.
import { createHmac, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { createSystemClock, type Clock, type Random, type TimerHandle } from "../../runtime/clock.js";
import { mapWithConcurrency } from "../../runtime/pools/map-with-concurrency.js";
import type { SecretMaterial } from "../../model/credentials.js";
import { BrokerNotAuthorizedError, DependencyCallError, SecretNotFoundError, toCredbrokerError, type CredbrokerError } from "../../model/errors.js";
import { NotAuthorizedStreak } from "../not-authorized-streak.js";
import { parseVaultKv1Payload, parseVaultPayload } from "../../model/secret-formats.js";
import type { SecretsTelemetry } from "../../runtime/telemetry.js";
import type { SecretRef } from "../../model/upstream.js";
import { ChangeListeners } from "../change-listeners.js";
import { SecretCache, type CachedSecret } from "../secret-cache.js";
import type { ResolvedSecret, SecretRequest, SecretSource } from "../secret-source.js";
import { createVaultAuth, type ReadTextFile, type VaultAuthSettings } from "./auth.js";
import { TokenManager } from "./token-manager.js";
import { createVaultClient, type VaultClient, type VaultConnectionSettings } from "./vault-client.js";
import { withContext } from "./vault-errors.js";
import { vaultSecretPath, type VaultPathSettings } from "./vault-paths.js";
import type { SecretCacheCapacity } from "../secret-cache.js";

export interface VaultSecretSourceOptions {
  client: VaultClient;
  tokens: TokenManager;
  settings: VaultPathSettings & { pollIntervalMs: number };
  cacheSize: SecretCacheCapacity;
  clock: Clock;
  logger: Logger;
  telemetry: SecretsTelemetry;
  /** Reads in flight at once while polling; default 4, so a large cache does not flood Vault. */
  pollConcurrency?: number;
  /** The Vault refusal streak (401/403 to the broker's token); by default the source keeps its own. */
  refusals?: NotAuthorizedStreak;
}

/** The Vault refusal streak: logged and counted once per streak, its fix the broker's Vault policy or token. */
export function vaultRefusals(deps: { logger: Logger; telemetry: SecretsTelemetry; clock: Clock }): NotAuthorizedStreak {
  return new NotAuthorizedStreak({
    dependency: "vault",
    logger: deps.logger,
    counter: deps.telemetry.notAuthorizedStreaks,
    now: () => deps.clock.monotonicNow(),
    fix: 'grant "read" on the secret paths in the Vault policy of the broker\'s role (policies/credbroker.hcl), or give it a valid token (vault.tokenFile); an upstream that may not use a secret is refused by secrets.refPolicy, not by a Vault policy',
  });
}

/** A SecretSource over Vault KV v1 or v2. One instance holds one token (one auth configuration). */
export class VaultSecretSource implements SecretSource {
  readonly name = "vault" as const;
  private readonly cache: SecretCache;
  private readonly listeners: ChangeListeners;
  // Per-instance key: KV v1 has no version, so a keyed digest of the payload stands for one without exposing it.
  private readonly versionKey = randomBytes(32);
  private pollTimer: TimerHandle | undefined;
  private polling: Promise<void> | undefined;
  private state: "new" | "started" | "stopped" = "new";
  /** Set while Vault cannot answer (down, sealed, no login): from the first failed read to the next answer. */
  private outage: { sinceMs: number } | undefined;
  private readonly refusals: NotAuthorizedStreak;

  constructor(private readonly options: VaultSecretSourceOptions) {
    this.cache = new SecretCache(options.cacheSize, "vault", options.telemetry);
    this.refusals = options.refusals ?? vaultRefusals(options);
    this.listeners = new ChangeListeners(options.logger);
  }

  /**
   * Reads `<path of ref>` with the managed token (cached unless `fresh`, and unless Vault is in an
   * outage: then every resolve asks Vault, so the status says "unavailable" for as long as it
   * lasts and the first answer ends it). Throws SecretNotFoundError (absent, deleted or destroyed),
   * BrokerNotAuthorizedError (401/403: the broker's policy or token, transient, never a verdict),
   * SecretSourceUnavailableError (sealed, down, timeout, throttled), VaultLoginError (the broker
   * cannot log in), CredbrokerError(InternalError) for another 4xx (the broker asked wrongly), or
   * ValidationError(SecretMalformed) naming the key. An outage's errors say since when, and when
   * the cached copy (not used) was read. A refused read drops that secret's cached copy (it alone:
   * a policy may refuse one path and grant the others), so its resolves ask Vault until it is granted.
   */
  async resolve(request: SecretRequest): Promise<ResolvedSecret> {
    const { ref, expected } = request;
    try {
      const path = vaultSecretPath(this.options.settings, ref);
      const location = `vault:${path}`;
      if (request.fresh !== true && this.outage === undefined) {
        const hit = this.cache.lookup(ref, expected);
        if (hit) return hit;
      }
      let response: unknown;
      try {
        response = await this.read(path);
      } catch (err) {
        if (err instanceof SecretNotFoundError) this.cache.rememberAbsent(ref, location);
        if (err instanceof BrokerNotAuthorizedError) this.dropMaterial(ref);
        throw this.outageError(err, ref);
      }
      const version = this.versionOf(response);
      let material: SecretMaterial;
      try {
        material = this.options.settings.kvVersion === 2 ? parseVaultPayload(response, expected) : parseVaultKv1Payload(response, expected);
      } catch (err) {
        if (err instanceof SecretNotFoundError) this.cache.rememberAbsent(ref, location);
        else this.cache.remember(ref, location, version, expected, undefined);
        throw err;
      }
      this.cache.remember(ref, location, version, expected, material, this.options.clock.now());
      return { material, source: "vault", version, location };
    } catch (err) {
      throw toCredbrokerError(err, `Vault secret ${ref.namespace}/${ref.name}`);
    }
  }

  onChange(listener: (ref: SecretRef) => void): () => void {
    return this.listeners.add(listener);
  }

  /** Logs in (a failure is logged; reads retry) and starts polling every `pollIntervalMs`. Idempotent. */
  async start(): Promise<void> {
    if (this.state !== "new") return;
    this.state = "started";
    await this.options.tokens.start();
    this.schedulePoll();
  }

  /** Stops polling and renewal, revokes the token, forgets cached material. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    if (this.pollTimer !== undefined) this.options.clock.clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    await this.polling;
    await this.options.tokens.stop();
    this.cache.clear();
  }

  /**
   * Re-reads every cached secret once and notifies listeners of those whose version changed or
   * that disappeared (or appeared, for ones looked up while absent). Unavailable reads keep the
   * cached state; a refused read (401/403) drops the material and notifies once, so the upstreams
   * say they are not authorized rather than rest on the old copy. I/O; never throws. Exposed for
   * tests and for a forced resync.
   */
  async pollOnce(): Promise<void> {
    // Once stopped, the remaining entries are passed over without a read.
    await mapWithConcurrency(this.cache.snapshot(), this.options.pollConcurrency ?? 4, async (entry) => {
      if (this.state !== "stopped") await this.check(entry);
    });
  }

  private async check(entry: CachedSecret): Promise<void> {
    let path: string;
    try {
      path = vaultSecretPath(this.options.settings, entry.ref);
    } catch {
      return;
    }
    let version: string | null;
    try {
      version = this.versionOf(await this.read(path));
    } catch (err) {
      if (err instanceof BrokerNotAuthorizedError) {
        // The copy can no longer be read: its upstreams are looked at once more and say so, instead
        // of resting on a copy a revoked grant would no longer give. Told once, not at every poll.
        if (this.cache.peek(entry.ref) === entry && entry.materials.size > 0) {
          this.dropMaterial(entry.ref);
          this.listeners.notify(entry.ref);
        }
        return;
      }
      if (!(err instanceof SecretNotFoundError)) {
        this.options.logger.debug({ err, location: entry.location }, "Vault poll read failed; keeping the cached secret");
        return;
      }
      version = null;
    }
    if (this.cache.peek(entry.ref) === entry && version !== null) entry.readAtMs = this.options.clock.now();
    // The entry may have been dropped or replaced while the read was in flight.
    if (this.cache.peek(entry.ref) !== entry || entry.version === version) return;
    if (version === null) this.cache.rememberAbsent(entry.ref, entry.location);
    else this.cache.markStale(entry.ref, version);
    this.options.logger.info({ location: entry.location, change: version === null ? "deleted" : "rotated" }, "Vault secret changed");
    this.listeners.notify(entry.ref);
  }

  private schedulePoll(): void {
    if (this.state !== "started") return;
    this.pollTimer = this.options.clock.setTimeout(() => {
      this.pollTimer = undefined;
      this.polling = this.pollOnce().finally(() => {
        this.polling = undefined;
        this.schedulePoll();
      });
    }, this.options.settings.pollIntervalMs);
  }

  /**
   * One read; it also keeps the outage state and the refusal streak. Vault not answering (down,
   * sealed, no login) starts or continues the outage; any answer ends it. A 401/403 is an answer:
   * Vault is up and refuses the broker, which is the refusal streak's to report, not an outage.
   */
  private async read(path: string): Promise<unknown> {
    try {
      const response = await this.options.tokens.run((token) => this.options.client.read(token, path));
      this.answered();
      this.refusals.authorized(path);
      return response;
    } catch (err) {
      const e = toCredbrokerError(err, "Vault read");
      if (e.reason === "SecretSourceUnavailable" || e.reason === "VaultLoginFailed") this.unavailable();
      else this.answered();
      if (e instanceof BrokerNotAuthorizedError) {
        const status = e.cause instanceof DependencyCallError ? e.cause.status : undefined;
        this.refusals.refused({ operation: "read", subject: path, status, why: e.message });
      } else if (e instanceof SecretNotFoundError) this.refusals.authorized(path);
      throw e;
    }
  }

  /** Keeps tracking `ref` at its version but forgets the material, so the next resolve asks Vault. */
  private dropMaterial(ref: SecretRef): void {
    const entry = this.cache.peek(ref);
    if (entry !== undefined) this.cache.markStale(ref, entry.version);
  }

  private unavailable(): void {
    if (this.outage !== undefined) return;
    this.outage = { sinceMs: this.options.clock.now() };
    this.options.logger.warn({ since: new Date(this.outage.sinceMs).toISOString() }, "Vault unavailable: cached secrets are not used for verdicts until it answers again");
    this.notifyAll();
  }

  private answered(): void {
    const outage = this.outage;
    if (outage === undefined) return;
    this.outage = undefined;
    this.options.logger.info({ unavailableForMs: this.options.clock.now() - outage.sinceMs }, "Vault answers again");
    this.notifyAll();
  }

  /** Every upstream using a cached secret is looked at again: its status must say the outage began, or that it ended. */
  private notifyAll(): void {
    for (const entry of this.cache.snapshot()) this.listeners.notify(entry.ref);
  }

  /** A retryable failure during an outage, saying since when, and when the unused cached copy was read. */
  private outageError(err: unknown, ref: SecretRef): CredbrokerError {
    const e = toCredbrokerError(err, "Vault read");
    const outage = this.outage;
    if (!e.retryable || outage === undefined) return e;
    const readAtMs = this.cache.peek(ref)?.readAtMs;
    const cached = readAtMs === undefined ? "" : `; the copy read at ${new Date(readAtMs).toISOString()} is not used until it answers`;
    return withContext(e, `Vault unavailable since ${new Date(outage.sinceMs).toISOString()}${cached}`);
  }

  /** KV v2: the version number (a deleted current version reads as absent); KV v1: a keyed digest of the payload. */
  private versionOf(response: unknown): string {
    const data = (response as { data?: { metadata?: { version?: unknown }; data?: unknown } } | null)?.data;
    if (this.options.settings.kvVersion === 2 && typeof data?.metadata?.version === "number") return `v${data.metadata.version}`;
    return `h${createHmac("sha256", this.versionKey).update(JSON.stringify(data ?? null)).digest("base64url").slice(0, 22)}`;
  }
}

/** Every Vault setting the source needs; `Config["vault"]` satisfies it. */
export type VaultSourceSettings = VaultConnectionSettings & VaultAuthSettings & VaultPathSettings & { pollIntervalMs: number };

export interface VaultSourceDeps {
  logger: Logger;
  telemetry: SecretsTelemetry;
  /** Parsed secrets kept at most (`secrets.cacheSize`). */
  cacheSize: SecretCacheCapacity;
  clock?: Clock;
  random?: Random;
  readTextFile?: ReadTextFile;
  /** The Vault refusal streak; by default the source keeps its own. */
  refusals?: NotAuthorizedStreak;
}

/**
 * Builds the client, auth method, token manager and source for one Vault configuration. Reads the
 * TLS files (I/O); throws ValidationError(InvalidSetting) for missing or unreadable settings.
 * Call `start()` to log in and begin polling.
 */
export async function createVaultSecretSource(settings: VaultSourceSettings, deps: VaultSourceDeps): Promise<VaultSecretSource> {
  const clock = deps.clock ?? createSystemClock();
  const logger = deps.logger.child({ component: "vault" });
  const client = await createVaultClient(settings, { logger, telemetry: deps.telemetry });
  const auth = createVaultAuth(settings, deps.readTextFile);
  const tokens = new TokenManager({ client, auth, clock, random: deps.random ?? Math.random, logger, telemetry: deps.telemetry });
  return new VaultSecretSource({ client, tokens, settings, cacheSize: deps.cacheSize, clock, logger, telemetry: deps.telemetry, ...(deps.refusals === undefined ? {} : { refusals: deps.refusals }) });
}
