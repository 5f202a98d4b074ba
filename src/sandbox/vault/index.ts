// The Vault emulator: a real HTTP server speaking Vault's JSON API, plus in-process controls for tests and the sandbox.
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { CallCounters } from "../common/counters.js";
import { FaultInjector } from "../common/faults.js";
import type { SandboxServer } from "../common/http-server.js";
import type { AppRoleConfig, KubernetesRoleConfig, TokenReviewer } from "./auth-methods.js";
import { createVaultHandler } from "./handlers.js";
import { applyVaultSeed } from "./seed.js";
import { VAULT_OPERATIONS } from "./operations.js";
import { listenVault } from "./server.js";
import { VaultState } from "./vault-state.js";

export type { AppRoleConfig, KubernetesRoleConfig, TokenReviewer } from "./auth-methods.js";
export type { VaultSeed } from "./seed.js";

export interface VaultEmulatorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Checks service-account JWTs for kubernetes login; without one, kubernetes login answers 500 as an unconfigured mount does. */
  tokenReviewer?: TokenReviewer;
  /** Every `*.hcl` file here is loaded as a policy named after the file (`credbroker.hcl` → `credbroker`). */
  policiesDir?: string;
  /** Root token id; random (`hvs.…`) by default. */
  rootToken?: string;
  /** Milliseconds since the epoch; inject a fake clock to expire tokens without sleeping. */
  clock?: () => number;
  /** KV mounts by path and version; default `{secret: 2, kv: 1}`. */
  kvMounts?: Record<string, 1 | 2>;
  /** Randomness for fault decisions (deterministic tests). */
  random?: () => number;
}

export interface VaultEmulator extends SandboxServer {
  readonly rootToken: string;
  /** The single unseal key `PUT /v1/sys/unseal` accepts. */
  readonly unsealKey: string;
  readonly sealed: boolean;
  seal(): void;
  unseal(): void;
  /** Writes a secret (a new version on KV v2). Creates the mount with `kvVersion` (default 2) if absent. Returns the version (1 on KV v1). */
  putSecret(mount: string, path: string, data: Record<string, unknown>, kvVersion?: 1 | 2): number;
  /** KV v2: soft-deletes `versions` (default the latest); KV v1: removes the value. */
  deleteSecret(mount: string, path: string, versions?: number[]): void;
  /** KV v2: permanently destroys the data of the given versions. */
  destroyVersion(mount: string, path: string, versions: number | number[]): void;
  /** Stores a policy; throws HclParseError on bad HCL. */
  writePolicy(name: string, hcl: string): void;
  configureKubernetesRole(mount: string, role: string, config: KubernetesRoleConfig): void;
  /** Creates or updates an AppRole role and returns a role_id and a fresh secret_id for it. */
  configureAppRole(mount: string, role: string, config: AppRoleConfig): { roleId: string; secretId: string };
  /** Revokes a token as `auth/token/revoke` does; false when it was not live. */
  revokeToken(token: string): boolean;
  /** Revokes every token logins and token creation issued (not the root token), behind their holders' backs; returns how many. */
  revokeAllTokens(): number;
  /** Live tokens issued by logins and token creation (the root token is not counted). */
  readonly tokenCount: number;
  /** Successful logins through auth method `method` ("kubernetes", "approle"), whatever the mount. */
  loginCount(method: string): number;
  /** Validates and applies a seed (see seed.ts for the shape). */
  applySeed(seed: unknown): void;
}

async function loadPolicies(dir: string): Promise<Array<{ name: string; hcl: string }>> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".hcl")).sort();
  return Promise.all(files.map(async (f) => ({ name: basename(f, ".hcl"), hcl: await readFile(join(dir, f), "utf8") })));
}

/** Starts a Vault emulator listening on `host:port`. Reads `policiesDir` (I/O); throws HclParseError when a policy file is bad. */
export async function createVaultEmulator(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const faults = new FaultInjector(options.random, VAULT_OPERATIONS);
  const state = new VaultState({
    rootToken: options.rootToken ?? `hvs.${randomBytes(18).toString("base64url")}`,
    // The server's clock, fault offset included: absolute times it reports move; TTLs, being relative, do not.
    clock: faults.offsetClock(options.clock ?? Date.now),
    tokenReviewer: options.tokenReviewer,
    kvMounts: options.kvMounts,
  });
  if (options.policiesDir !== undefined) for (const p of await loadPolicies(options.policiesDir)) state.policies.write(p.name, p.hcl);
  const counters = new CallCounters();
  const server = await listenVault(createVaultHandler(state, faults, counters), {
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
  });

  const emulator: VaultEmulator = {
    ...server,
    faults,
    counters,
    rootToken: state.rootToken,
    unsealKey: state.unsealKey,
    get sealed() {
      return state.sealed;
    },
    seal: () => {
      state.sealed = true;
    },
    unseal: () => {
      state.sealed = false;
    },
    putSecret: (mount, path, data, kvVersion = 2) => {
      const m = state.mountKv(mount, kvVersion);
      if (m.version === 1) {
        m.store.write(path, data);
        return 1;
      }
      return m.store.write(path, data, state.clock()).version;
    },
    deleteSecret: (mount, path, versions) => {
      const m = state.findKvMount(mount)?.mount;
      if (m?.version === 1) m.store.delete(path);
      else m?.store.softDelete(path, state.clock(), versions);
    },
    destroyVersion: (mount, path, versions) => {
      const m = state.findKvMount(mount)?.mount;
      if (m?.version === 2) m.store.destroy(path, Array.isArray(versions) ? versions : [versions], state.clock());
    },
    writePolicy: (name, hcl) => state.policies.write(name, hcl),
    configureKubernetesRole: (mount, role, config) => {
      state.kubernetes(mount).roles.set(role, config);
    },
    configureAppRole: (mount, role, config) => state.appRole(mount).configure(role, config),
    revokeToken: (token) => state.tokens.revoke(token),
    revokeAllTokens: () => state.tokens.revokeAllButRoot(),
    get tokenCount() {
      return state.tokens.count();
    },
    loginCount: (method) => counters.get(`login ${method}`, "ok"),
    applySeed: (seed) => applyVaultSeed(emulator, seed),
  };
  return emulator;
}
