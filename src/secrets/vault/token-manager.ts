// The Vault token lifecycle for one auth configuration: single-flight login, renewal at ~2/3 TTL, re-login, revoke on stop.
import type { Logger } from "pino";
import type { Clock, Random, TimerHandle } from "../../runtime/clock.js";
import { BrokerNotAuthorizedError, SecretSourceUnavailableError, toCredbrokerError, type CredbrokerError } from "../../model/errors.js";
import type { SecretsTelemetry } from "../../runtime/telemetry.js";
import type { VaultAuth } from "./auth.js";
import type { VaultAuthResult, VaultClient } from "./vault-client.js";
import { VaultLoginError } from "./vault-errors.js";

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

/** A streak of failed logins: until `retryAtMs` every caller gets `error` without a new attempt. */
interface LoginFailure {
  error: CredbrokerError;
  sinceMs: number;
  attempts: number;
  delayMs: number;
  retryAtMs: number;
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
  private loginFailure: LoginFailure | undefined;
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
    } catch {
      // Logged once for the streak by loginFailed; reads retry the login with backoff.
    }
  }

  /**
   * Runs `request` with a live token. When Vault refuses it (401/403, BrokerNotAuthorizedError),
   * lookup-self tells a dead token (revoked, expired early) from a policy denial: a dead token is
   * replaced by one new login (shared with concurrent callers) and the request is retried once; a
   * policy denial is rethrown (still BrokerNotAuthorized: the broker's policy, never a verdict). Throws what
   * `request` throws, or the login's errors.
   */
  async run<T>(request: (token: string) => Promise<T>): Promise<T> {
    const token = await this.currentToken();
    try {
      return await request(token);
    } catch (err) {
      if (!(err instanceof BrokerNotAuthorizedError) || this.stopping !== undefined) throw err;
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

  /**
   * One login at a time: every caller that arrives while it runs gets its result. After a failed
   * login, callers get that failure at once until the backoff (with jitter) has passed, so a
   * fleet of reads never turns into a login per read.
   */
  private login(): Promise<HeldToken> {
    const failure = this.loginFailure;
    if (failure !== undefined && this.options.clock.now() < failure.retryAtMs) return Promise.reject(failure.error);
    this.loginInFlight ??= this.performLogin().finally(() => {
      this.loginInFlight = undefined;
    });
    return this.loginInFlight;
  }

  private async performLogin(): Promise<HeldToken> {
    const { auth, client, logger } = this.options;
    let result: VaultAuthResult;
    try {
      result = await auth.login(client);
    } catch (err) {
      throw this.loginFailed(err);
    }
    const failure = this.loginFailure;
    if (failure !== undefined) {
      logger.info({ auth: auth.key, attempts: failure.attempts, failingForMs: this.options.clock.now() - failure.sinceMs }, "Vault login works again");
      this.loginFailure = undefined;
    }
    const replaced = this.held;
    const held = this.hold(result);
    // The token a new login replaces (at max TTL, or after renewal stopped helping) would live on for
    // the rest of its TTL: revoked now. A request still using it meets a 403 and retries with the new one.
    if (replaced !== undefined && replaced.token !== held.token && auth.ownsToken) {
      client.revokeSelf(replaced.token).catch((err: unknown) => logger.debug({ err, auth: auth.key }, "revoking the replaced Vault token failed; it expires with its TTL"));
    }
    this.retryDelayMs = this.options.retryDelayMs ?? 1000;
    logger.info({ auth: auth.key, ttlSeconds: result.leaseDurationSeconds, renewable: result.renewable }, "Vault login");
    if (this.stopping === undefined) this.scheduleRenewal(held, false);
    return held;
  }

  /**
   * Records a failed login and returns what callers see. A refusal (403 and every other 4xx) is
   * about the broker, never an upstream's secret, so it is VaultLoginError (transient); an outage
   * stays SecretSourceUnavailable, and a `vault.tokenFile` token Vault refuses stays
   * BrokerNotAuthorized. The first failure of a streak is logged and counted.
   */
  private loginFailed(err: unknown): CredbrokerError {
    const { auth, clock, logger, random, telemetry } = this.options;
    const cause = toCredbrokerError(err, `Vault ${auth.method} login`);
    // classifyVaultError already calls a refused login VaultLoginError; it gains what to look at here.
    const refused = cause instanceof VaultLoginError || !cause.retryable;
    const error = !refused
      ? cause
      : new VaultLoginError(
          `${cause.message}: the broker cannot log in to Vault (${auth.key})${auth.method === "kubernetes" ? "; Vault's Kubernetes auth also answers so when its TokenReview fails" : ""}`,
          { cause },
        );
    const now = clock.now();
    const previous = this.loginFailure;
    const base = this.options.retryDelayMs ?? 1000;
    const delayMs = previous === undefined ? base : Math.min(previous.delayMs * 2, this.options.maxRetryDelayMs ?? 30_000);
    this.loginFailure = { error, sinceMs: previous?.sinceMs ?? now, attempts: (previous?.attempts ?? 0) + 1, delayMs, retryAtMs: now + delayMs * (1 - JITTER * random()) };
    if (previous === undefined) {
      logger.warn({ err: cause, auth: auth.key }, "Vault login failing; reads that need a new token fail until it works, retried with backoff");
      telemetry.vaultLoginFailureStreaks.inc({ auth: auth.method });
    }
    return error;
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
      if (err instanceof BrokerNotAuthorizedError) {
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
    } catch {
      if (this.stopping !== undefined) return;
      // Logged once per streak by loginFailed, whose backoff says when the next attempt is due.
      this.dropIfExpired(this.held);
      const now = this.options.clock.now();
      this.arm(Math.max(0, (this.loginFailure?.retryAtMs ?? now) - now), () => this.backgroundLogin());
    }
  }

  private retryLater(action: () => Promise<void>, held: HeldToken | undefined): void {
    const delayMs = this.retryDelayMs * (1 - JITTER * this.options.random());
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.options.maxRetryDelayMs ?? 30_000);
    this.dropIfExpired(held);
    this.arm(delayMs, action);
  }

  /** A token past its expiry is useless: dropped, so reads log in themselves instead of failing. */
  private dropIfExpired(held: HeldToken | undefined): void {
    if (held?.expiresAtMs != null && held.expiresAtMs <= this.options.clock.now()) this.forget(held.token);
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
            if (err instanceof BrokerNotAuthorizedError) return false;
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
