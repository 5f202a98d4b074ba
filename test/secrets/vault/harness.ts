// Test helper: VaultSecretSource settings and construction against the sandbox, with a recording client wrapper.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { SecretsTelemetry } from "../../../src/runtime/telemetry.js";
import type { VaultAuthSettings } from "../../../src/secrets/vault/auth.js";
import { createVaultAuth } from "../../../src/secrets/vault/auth.js";
import { TokenManager } from "../../../src/secrets/vault/token-manager.js";
import { createVaultClient, type VaultClient } from "../../../src/secrets/vault/vault-client.js";
import { VaultSecretSource, type VaultSourceSettings } from "../../../src/secrets/vault/vault-secret-source.js";
import type { FakeClock } from "../../../src/runtime/clock.js";
import type { Sandbox } from "../sandbox.js";

export const POLL_INTERVAL_MS = 5000;

/** Settings for the broker's kubernetes login against `sandbox`, with overrides. */
export function brokerSettings(sandbox: Sandbox, overrides: Partial<VaultSourceSettings> = {}): VaultSourceSettings {
  return {
    address: sandbox.vault.url,
    insecureSkipVerify: false,
    requestTimeoutMs: 2000,
    authMethod: "kubernetes",
    role: "credbroker",
    jwtFile: sandbox.jwtFile,
    kvMount: "secret",
    kvVersion: 2,
    rootKey: "gloo",
    pollIntervalMs: POLL_INTERVAL_MS,
    ...overrides,
  };
}

/** Settings that authenticate with a token file holding `token`. */
export async function tokenFileSettings(sandbox: Sandbox, token: string, overrides: Partial<VaultSourceSettings> = {}): Promise<VaultSourceSettings> {
  const tokenFile = join(sandbox.dir, `vault-token-${Math.random().toString(36).slice(2)}`);
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  return brokerSettings(sandbox, { authMethod: "token", tokenFile, ...overrides } satisfies Partial<VaultAuthSettings>);
}

export interface BuiltSource {
  source: VaultSecretSource;
  /** Every token a login or renewal returned, so a test can revoke the current one in the emulator. */
  tokens: string[];
  /** JWT / secret-id / token file reads, to prove credentials are re-read at every login. */
  fileReads: number;
}

/**
 * The same wiring as createVaultSecretSource, with the real client wrapped to record issued tokens
 * (a decorator of our own VaultClient interface; every call still reaches the emulator).
 */
export async function buildSource(settings: VaultSourceSettings, deps: { clock: FakeClock; logger: Logger; telemetry: SecretsTelemetry; cacheSize?: number }): Promise<BuiltSource> {
  const real = await createVaultClient(settings, { logger: deps.logger, telemetry: deps.telemetry });
  const built: BuiltSource = { source: undefined as unknown as VaultSecretSource, tokens: [], fileReads: 0 };
  const record = async <T extends { token: string }>(p: Promise<T>): Promise<T> => {
    const r = await p;
    built.tokens.push(r.token);
    return r;
  };
  const client: VaultClient = {
    read: (t, p) => real.read(t, p),
    loginKubernetes: (m, r, j) => record(real.loginKubernetes(m, r, j)),
    loginAppRole: (m, r, s) => record(real.loginAppRole(m, r, s)),
    lookupSelf: (t) => real.lookupSelf(t),
    renewSelf: (t, i) => record(real.renewSelf(t, i)),
    revokeSelf: (t) => real.revokeSelf(t),
  };
  const { readFile } = await import("node:fs/promises");
  const auth = createVaultAuth(settings, (path) => {
    built.fileReads++;
    return readFile(path, "utf8");
  });
  const tokens = new TokenManager({ client, auth, clock: deps.clock, random: () => 0.5, logger: deps.logger, telemetry: deps.telemetry });
  built.source = new VaultSecretSource({ client, tokens, settings, cacheSize: deps.cacheSize ?? 100, clock: deps.clock, logger: deps.logger, telemetry: deps.telemetry });
  return built;
}

/** The latest token the source holds. */
export function currentToken(built: BuiltSource): string {
  const t = built.tokens.at(-1);
  if (t === undefined) throw new Error("the source has not logged in yet");
  return t;
}
