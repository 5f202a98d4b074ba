// VaultSecretSource: reads Gloo secrets from Vault KV through one TokenManager, caches them, and polls cached ones for rotation.
import { createHmac, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { createSystemClock, type Clock, type Random, type TimerHandle } from "../../runtime/clock.js";
import { mapWithConcurrency } from "../../runtime/pools/map-with-concurrency.js";
import type { SecretMaterial } from "../../model/credentials.js";
import { SecretNotFoundError, toCredbrokerError } from "../../model/errors.js";
import { parseVaultKv1Payload, parseVaultPayload } from "../../model/secret-formats.js";
import type { SecretsTelemetry } from "../../runtime/telemetry.js";
import type { SecretRef } from "../../model/upstream.js";
import { ChangeListeners } from "../change-listeners.js";
import { SecretCache, type CachedSecret } from "../secret-cache.js";
import type { ResolvedSecret, SecretRequest, SecretSource } from "../secret-source.js";
import { createVaultAuth, type ReadTextFile, type VaultAuthSettings } from "./auth.js";
import { TokenManager } from "./token-manager.js";
import { createVaultClient, type VaultClient, type VaultConnectionSettings } from "./vault-client.js";
import { vaultSecretPath, type VaultPathSettings } from "./vault-paths.js";

export interface VaultSecretSourceOptions {
  client: VaultClient;
  tokens: TokenManager;
  settings: VaultPathSettings & { pollIntervalMs: number };
  cacheSize: number;
  clock: Clock;
  logger: Logger;
  telemetry: SecretsTelemetry;
  /** Reads in flight at once while polling; default 4, so a large cache does not flood Vault. */
  pollConcurrency?: number;
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

  constructor(private readonly options: VaultSecretSourceOptions) {
    this.cache = new SecretCache(options.cacheSize, "vault", options.telemetry);
    this.listeners = new ChangeListeners(options.logger);
  }

  /**
   * Reads `<path of ref>` with the managed token (cached unless `fresh`). Throws SecretNotFoundError
   * (absent, deleted or destroyed), SecretDeniedError(VaultDenied), SecretSourceUnavailableError
   * (sealed, down, timeout, throttled) or ValidationError(SecretMalformed) naming the key.
   */
  async resolve(request: SecretRequest): Promise<ResolvedSecret> {
    const { ref, expected } = request;
    try {
      const path = vaultSecretPath(this.options.settings, ref);
      const location = `vault:${path}`;
      if (request.fresh !== true) {
        const hit = this.cache.lookup(ref, expected);
        if (hit) return hit;
      }
      let response: unknown;
      try {
        response = await this.read(path);
      } catch (err) {
        if (err instanceof SecretNotFoundError) this.cache.rememberAbsent(ref, location);
        throw err;
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
      this.cache.remember(ref, location, version, expected, material);
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
   * that disappeared (or appeared, for ones looked up while absent). Unavailable or denied reads
   * keep the cached state. I/O; never throws. Exposed for tests and for a forced resync.
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
      if (!(err instanceof SecretNotFoundError)) {
        this.options.logger.debug({ err, location: entry.location }, "Vault poll read failed; keeping the cached secret");
        return;
      }
      version = null;
    }
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

  private read(path: string): Promise<unknown> {
    return this.options.tokens.run((token) => this.options.client.read(token, path));
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
  cacheSize: number;
  clock?: Clock;
  random?: Random;
  readTextFile?: ReadTextFile;
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
  return new VaultSecretSource({ client, tokens, settings, cacheSize: deps.cacheSize, clock, logger, telemetry: deps.telemetry });
}
