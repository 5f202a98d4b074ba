// The Vault token lifecycle for one auth configuration: single-flight login, renewal at ~2/3 TTL, re-login, revoke on stop.
import type { Logger } from "pino";
import type { Clock, Random, TimerHandle } from "../../runtime/clock.js";
import { SecretDeniedError, SecretSourceUnavailableError } from "../../model/errors.js";
import type { SecretsTelemetry } from "../../runtime/telemetry.js";
import type { VaultAuth } from "./auth.js";
import type { VaultAuthResult, VaultClient } from "./vault-client.js";

export interface TokenManagerOptions {
  client: VaultClient;
  auth: VaultAuth;
  clock: Clock;
  random: Random;
  logger: Logger;
  telemetry: SecretsTelemetry;
  /** First delay before retrying a failed background renewal or login; doubles up to `maxRetryDelayMs`. Default 1 s. */
  retryDelayMs?: number;
  /** Default 30 s. */
  maxRetryDelayMs?: number;
}

interface HeldToken {
  token: string;
  /** null: the token never expires (TTL 0). */
  expiresAtMs: number | null;
  renewable: boolean;
  /** The TTL the login granted, asked for again at each renewal. */
  incrementSeconds: number;
}

/** Renewal happens between 60% and 66.7% of the TTL, so replicas that logged in together do not renew together. */
const RENEW_FRACTION = 2 / 3;
const JITTER = 0.1;

/**
 * Holds the one Vault token of an auth configuration. `run` hands requests a live token and
 * repairs a token Vault no longer accepts; background timers renew it and log in again when
 * renewal stops extending it. Concurrent callers share one login.
 */
export class TokenManager {
  private held: HeldToken | undefined;
  private loginInFlight: Promise<HeldToken> | undefined;
  private readonly checks = new Map<string, Promise<boolean>>();
  private timer: TimerHandle | undefined;
  private retryDelayMs: number;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: TokenManagerOptions) {
    this.retryDelayMs = options.retryDelayMs ?? 1000;
  }

  /** The auth configuration's method, for logs and metric labels. */
  get method(): string {
    return this.options.auth.method;
  }

  /**
   * Logs in now so the first read does not wait; a failure is logged, not thrown (reads retry the
   * login themselves, and a Vault outage must not stop the broker from starting). Idempotent.
   */
  async start(): Promise<void> {
    if (this.held !== undefined || this.stopping !== undefined) return;
    try {
      await this.login();
    } catch (err) {
      this.options.logger.warn({ err, auth: this.options.auth.key }, "initial Vault login failed; reads will retry it");
    }
  }

  /**
   * Runs `request` with a live token. When Vault denies it, lookup-self tells a dead token (revoked,
   * expired early) from a policy denial: a dead token is replaced by one new login (shared with
   * concurrent callers) and the request is retried once; a policy denial is rethrown. Throws what
   * `request` throws, or the login's errors.
   */
  async run<T>(request: (token: string) => Promise<T>): Promise<T> {
    const token = await this.currentToken();
    try {
      return await request(token);
    } catch (err) {
      if (!(err instanceof SecretDeniedError) || this.stopping !== undefined) throw err;
      if (await this.tokenIsAlive(token)) throw err;
      this.options.logger.info({ auth: this.options.auth.key }, "Vault no longer accepts the token; logging in again");
      this.forget(token);
      return request(await this.currentToken());
    }
  }

  /** Stops renewal and revokes a token credbroker created. Idempotent; never throws. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.clearTimer();
    await this.loginInFlight?.catch(() => undefined);
    this.clearTimer();
    const held = this.held;
    this.held = undefined;
    if (held === undefined || !this.options.auth.ownsToken) return;
    try {
      await this.options.client.revokeSelf(held.token);
      this.options.logger.info({ auth: this.options.auth.key }, "Vault token revoked");
    } catch (err) {
      this.options.logger.warn({ err, auth: this.options.auth.key }, "revoking the Vault token failed; it expires with its TTL");
    }
  }

  private async currentToken(): Promise<string> {
    if (this.stopping !== undefined) throw new SecretSourceUnavailableError("the Vault client is stopped");
    const held = this.held;
    if (held !== undefined && (held.expiresAtMs === null || this.options.clock.now() < held.expiresAtMs)) return held.token;
    return (await this.login()).token;
  }

  /** One login at a time: every caller that arrives while it runs gets its result. */
  private login(): Promise<HeldToken> {
    this.loginInFlight ??= this.performLogin().finally(() => {
      this.loginInFlight = undefined;
    });
    return this.loginInFlight;
  }

  private async performLogin(): Promise<HeldToken> {
    const { auth, client, logger } = this.options;
    const result = await auth.login(client);
    const held = this.hold(result);
    this.retryDelayMs = this.options.retryDelayMs ?? 1000;
    logger.info({ auth: auth.key, ttlSeconds: result.leaseDurationSeconds, renewable: result.renewable }, "Vault login");
    if (this.stopping === undefined) this.scheduleRenewal(held, false);
    return held;
  }

  private hold(result: VaultAuthResult): HeldToken {
    const now = this.options.clock.now();
    const held: HeldToken = {
      token: result.token,
      expiresAtMs: result.leaseDurationSeconds > 0 ? now + result.leaseDurationSeconds * 1000 : null,
      renewable: result.renewable,
      incrementSeconds: result.leaseDurationSeconds,
    };
    this.held = held;
    this.recordTtl(result.leaseDurationSeconds);
    return held;
  }

  private recordTtl(seconds: number): void {
    this.options.telemetry.vaultTokenTtlSeconds.set({ auth: this.options.auth.method }, seconds);
  }

  /** Arms the next renewal (or, once renewal is capped by the max TTL, the next login) at ~2/3 of what is left. */
  private scheduleRenewal(held: HeldToken, capped: boolean): void {
    if (held.expiresAtMs === null) return; // never expires: nothing to renew
    const leftMs = held.expiresAtMs - this.options.clock.now();
    const delayMs = Math.max(0, leftMs * RENEW_FRACTION * (1 - JITTER * this.options.random()));
    const relogin = capped || !held.renewable;
    this.arm(delayMs, () => (relogin ? this.backgroundLogin() : this.renew(held)));
  }

  private async renew(held: HeldToken): Promise<void> {
    const { client, clock, logger, auth } = this.options;
    if (this.held !== held) return;
    try {
      const result = await client.renewSelf(held.token, held.incrementSeconds);
      if (this.held !== held || this.stopping !== undefined) return;
      const newExpiry = clock.now() + result.leaseDurationSeconds * 1000;
      if (result.leaseDurationSeconds <= 0 || (held.expiresAtMs !== null && newExpiry <= held.expiresAtMs)) {
        logger.info({ auth: auth.key }, "Vault token renewal no longer extends it; logging in again");
        await this.backgroundLogin();
        return;
      }
      held.expiresAtMs = newExpiry;
      this.recordTtl(result.leaseDurationSeconds);
      this.retryDelayMs = this.options.retryDelayMs ?? 1000;
      // A lease shorter than asked means the max TTL caps it: renewing again would not help, so log in before it ends.
      const capped = result.leaseDurationSeconds < held.incrementSeconds;
      logger.debug({ auth: auth.key, ttlSeconds: result.leaseDurationSeconds, capped }, "Vault token renewed");
      this.scheduleRenewal(held, capped);
    } catch (err) {
      if (this.held !== held || this.stopping !== undefined) return;
      if (err instanceof SecretDeniedError) {
        logger.info({ auth: auth.key }, "Vault refused to renew the token; logging in again");
        this.forget(held.token);
        await this.backgroundLogin();
        return;
      }
      logger.warn({ err, auth: auth.key }, "Vault token renewal failed; will retry");
      this.retryLater(() => this.renew(held), held);
    }
  }

  /** A login started by a timer: failures are logged and retried with backoff while the broker runs. */
  private async backgroundLogin(): Promise<void> {
    if (this.stopping !== undefined) return;
    try {
      await this.login();
    } catch (err) {
      if (this.stopping !== undefined) return;
      this.options.logger.warn({ err, auth: this.options.auth.key }, "Vault login failed; will retry");
      this.retryLater(() => this.backgroundLogin(), this.held);
    }
  }

  private retryLater(action: () => Promise<void>, held: HeldToken | undefined): void {
    const delayMs = this.retryDelayMs * (1 - JITTER * this.options.random());
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.options.maxRetryDelayMs ?? 30_000);
    // A token past its expiry is useless: drop it so reads log in themselves instead of failing.
    if (held?.expiresAtMs != null && held.expiresAtMs <= this.options.clock.now()) this.forget(held.token);
    this.arm(delayMs, action);
  }

  private arm(delayMs: number, action: () => Promise<void>): void {
    this.clearTimer();
    if (this.stopping !== undefined) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      void action();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Asks Vault whether `token` still works; concurrent checks of one token share one lookup. */
  private tokenIsAlive(token: string): Promise<boolean> {
    let check = this.checks.get(token);
    if (check === undefined) {
      check = this.options.client
        .lookupSelf(token)
        .then(
          () => true,
          (err: unknown) => {
            if (err instanceof SecretDeniedError) return false;
            throw err;
          },
        )
        .finally(() => this.checks.delete(token));
      this.checks.set(token, check);
    }
    return check;
  }

  /** Drops `token` if it is still the held one (a newer login may already have replaced it). */
  private forget(token: string): void {
    if (this.held?.token !== token) return;
    this.held = undefined;
    this.clearTimer();
  }
}
