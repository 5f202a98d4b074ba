// TokenManager against a fake VaultClient and a manual clock: single-flight login, renewal timing, re-login rules, revoke.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { BrokerNotAuthorizedError, SecretSourceUnavailableError } from "../../../src/model/errors.js";
import { silentSecretsTelemetry } from "../../../src/runtime/telemetry.js";
import type { VaultAuth } from "../../../src/secrets/vault/auth.js";
import { TokenManager } from "../../../src/secrets/vault/token-manager.js";
import type { VaultAuthResult, VaultClient, VaultTokenInfo } from "../../../src/secrets/vault/vault-client.js";
import { FakeClock } from "../../../src/runtime/clock.js";

/** A Vault that issues tokens with a TTL capped by a max TTL, on the manual clock. */
class FakeVault implements VaultClient {
  logins = 0;
  renewals = 0;
  revoked: string[] = [];
  lookups = 0;
  readonly live = new Map<string, { expiresAtMs: number; maxAtMs: number }>();
  loginGate: Promise<void> = Promise.resolve();
  renewFails: "no" | "down" | "denied" = "no";

  constructor(
    private readonly clock: FakeClock,
    private readonly ttlSeconds: number,
    private readonly maxTtlSeconds: number,
  ) {}

  async read(token: string): Promise<unknown> {
    if (!this.alive(token)) throw new BrokerNotAuthorizedError("Vault read: permission denied");
    return Promise.resolve({ data: { ok: true } });
  }
  async loginKubernetes(): Promise<VaultAuthResult> {
    await this.loginGate;
    this.logins++;
    const token = `hvs.fake${this.logins}`;
    const now = this.clock.now();
    this.live.set(token, { expiresAtMs: now + this.ttlSeconds * 1000, maxAtMs: now + this.maxTtlSeconds * 1000 });
    return { token, leaseDurationSeconds: this.ttlSeconds, renewable: true };
  }
  loginAppRole(): Promise<VaultAuthResult> {
    return this.loginKubernetes();
  }
  lookupSelf(token: string): Promise<VaultTokenInfo> {
    this.lookups++;
    if (!this.alive(token)) return Promise.reject(new BrokerNotAuthorizedError("lookup: permission denied"));
    return Promise.resolve({ ttlSeconds: 1, renewable: true });
  }
  renewSelf(token: string, incrementSeconds?: number): Promise<VaultAuthResult> {
    if (this.renewFails === "down") return Promise.reject(new SecretSourceUnavailableError("renew: Vault is sealed"));
    const entry = this.live.get(token);
    if (this.renewFails === "denied" || !entry || !this.alive(token)) return Promise.reject(new BrokerNotAuthorizedError("renew: permission denied"));
    this.renewals++;
    const now = this.clock.now();
    entry.expiresAtMs = Math.min(now + (incrementSeconds ?? this.ttlSeconds) * 1000, entry.maxAtMs);
    return Promise.resolve({ token, leaseDurationSeconds: Math.floor((entry.expiresAtMs - now) / 1000), renewable: true });
  }
  revokeSelf(token: string): Promise<void> {
    this.revoked.push(token);
    this.live.delete(token);
    return Promise.resolve();
  }
  alive(token: string): boolean {
    const e = this.live.get(token);
    return e !== undefined && e.expiresAtMs > this.clock.now();
  }
}

const auth: VaultAuth = { method: "kubernetes", key: "kubernetes:kubernetes:credbroker", ownsToken: true, login: (c) => c.loginKubernetes("kubernetes", "credbroker", "jwt") };

function setup(ttlSeconds = 30, maxTtlSeconds = 3600, random = 0) {
  const clock = new FakeClock();
  const vault = new FakeVault(clock, ttlSeconds, maxTtlSeconds);
  const manager = new TokenManager({ client: vault, auth, clock, random: () => random, logger: pino({ level: "silent" }), telemetry: silentSecretsTelemetry() });
  const read = () => manager.run((t) => vault.read(t));
  return { clock, vault, manager, read };
}

/** Lets promise callbacks started by a fired timer run to completion. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("TokenManager", () => {
  it("logs in once for many concurrent requests during the login", async () => {
    const { vault, read } = setup();
    let open!: () => void;
    vault.loginGate = new Promise((resolve) => (open = resolve));
    const reads = Array.from({ length: 200 }, () => read());
    open();
    await Promise.all(reads);
    expect(vault.logins).toBe(1);
  });

  it("does not log in per request", async () => {
    const { vault, read } = setup();
    for (let i = 0; i < 5; i++) await read();
    expect(vault.logins).toBe(1);
  });

  it("renews between 60% and 67% of the TTL, depending on jitter", async () => {
    for (const [random, firesAtS] of [[0, 20], [0.99, 18.1]] as const) {
      const { clock, vault, manager } = setup(30, 3600, random);
      await manager.start();
      clock.advance(firesAtS * 1000 - 200);
      await settle();
      expect(vault.renewals).toBe(0);
      clock.advance(200);
      await settle();
      expect(vault.renewals).toBe(1);
      await manager.stop();
    }
  });

  it("logs in again before the max TTL once renewal is capped, and never lets reads see an expired token", async () => {
    const { clock, vault, manager, read } = setup(30, 60);
    await manager.start();
    for (let t = 0; t < 120; t += 1) {
      clock.advance(1000);
      await settle();
      await read();
    }
    expect(vault.logins).toBeGreaterThanOrEqual(2);
    expect(vault.lookups).toBe(0); // no read was ever denied
    // Each new login revoked the token it replaced: only the newest is still live.
    expect(vault.revoked).toHaveLength(vault.logins - 1);
    expect(vault.live.size).toBe(1);
    await manager.stop();
  });

  it("logs in again when renewal is refused", async () => {
    const { clock, vault, manager } = setup(30);
    await manager.start();
    vault.renewFails = "denied";
    clock.advance(20_000);
    await settle();
    await settle();
    expect(vault.logins).toBe(2);
    await manager.stop();
  });

  it("retries a renewal that failed because Vault was unavailable", async () => {
    const { clock, vault, manager } = setup(30);
    await manager.start();
    vault.renewFails = "down";
    clock.advance(20_000);
    await settle();
    vault.renewFails = "no";
    clock.advance(1_000);
    await settle();
    expect(vault.renewals).toBe(1);
    expect(vault.logins).toBe(1);
    await manager.stop();
  });

  it("replaces a revoked token with one login shared by concurrent requests, retrying each once", async () => {
    const { vault, read } = setup();
    await read();
    vault.live.clear(); // revoked behind our back
    await Promise.all(Array.from({ length: 20 }, () => read()));
    expect(vault.logins).toBe(2);
    expect(vault.lookups).toBe(1);
  });

  it("rethrows a denial when the token is still valid (a policy denial), without logging in again", async () => {
    const { vault, manager } = setup();
    const err = await manager.run(() => Promise.reject(new BrokerNotAuthorizedError("read: permission denied"))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerNotAuthorizedError);
    expect(vault.logins).toBe(1);
    expect(vault.lookups).toBe(1);
  });

  it("revokes its token on stop, once, and refuses requests afterwards", async () => {
    const { vault, manager, read } = setup();
    await read();
    await Promise.all([manager.stop(), manager.stop()]);
    await manager.stop();
    expect(vault.revoked).toEqual(["hvs.fake1"]);
    await expect(read()).rejects.toBeInstanceOf(SecretSourceUnavailableError);
  });

  it("does not revoke a token it was handed in a file", async () => {
    const clock = new FakeClock();
    const vault = new FakeVault(clock, 30, 60);
    const handed: VaultAuth = { ...auth, method: "token", ownsToken: false };
    const manager = new TokenManager({ client: vault, auth: handed, clock, random: () => 0, logger: pino({ level: "silent" }), telemetry: silentSecretsTelemetry() });
    await manager.run((t) => vault.read(t));
    await manager.stop();
    expect(vault.revoked).toEqual([]);
  });
});
