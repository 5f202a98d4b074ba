// Everything one emulated Vault holds: seal state, policies, tokens, KV mounts and auth mounts.
import { randomBytes } from "node:crypto";
import { AppRoleAuth, KubernetesAuth, type TokenReviewer } from "./auth-methods.js";
import { KvV1Store, KvV2Store } from "./kv-store.js";
import { PolicyStore } from "./policy.js";
import { TokenStore } from "./tokens.js";

export type KvMount = { version: 1; store: KvV1Store } | { version: 2; store: KvV2Store };

export interface VaultStateOptions {
  rootToken: string;
  clock: () => number;
  tokenReviewer?: TokenReviewer | undefined;
  /** KV mounts by path and version; defaults to `secret` (v2) and `kv` (v1). */
  kvMounts?: Record<string, 1 | 2> | undefined;
}

/** Finds the mount whose path is the longest prefix of `path` (mount paths may contain slashes). */
function longestMount<T>(mounts: ReadonlyMap<string, T>, path: string): { name: string; mount: T; rest: string } | undefined {
  let found: { name: string; mount: T; rest: string } | undefined;
  for (const [name, mount] of mounts) {
    if ((path === name || path.startsWith(`${name}/`)) && (!found || name.length > found.name.length)) {
      found = { name, mount, rest: path.slice(name.length + 1) };
    }
  }
  return found;
}

/** Mutable state of one emulator instance; no I/O except through the injected TokenReviewer. */
export class VaultState {
  sealed = false;
  /** The single Shamir share (threshold 1) that `sys/unseal` accepts. */
  readonly unsealKey = randomBytes(32).toString("base64");
  readonly policies = new PolicyStore();
  readonly tokens: TokenStore;
  readonly kvMounts = new Map<string, KvMount>();
  readonly kubernetesMounts = new Map<string, KubernetesAuth>();
  readonly appRoleMounts = new Map<string, AppRoleAuth>();
  readonly clock: () => number;
  readonly rootToken: string;

  constructor(private readonly options: VaultStateOptions) {
    this.clock = options.clock;
    this.rootToken = options.rootToken;
    this.tokens = new TokenStore(options.clock);
    this.tokens.addRoot(options.rootToken);
    const kvMounts: Record<string, 1 | 2> = options.kvMounts ?? { secret: 2, kv: 1 };
    for (const [name, version] of Object.entries(kvMounts)) this.mountKv(name, version);
    this.kubernetes("kubernetes");
    this.appRole("approle");
  }

  /** Mounts a KV engine at `name` unless one is already there; returns the mount. */
  mountKv(name: string, version: 1 | 2): KvMount {
    const key = name.replace(/^\/+|\/+$/g, "");
    const existing = this.kvMounts.get(key);
    if (existing) return existing;
    const mount: KvMount = version === 1 ? { version: 1, store: new KvV1Store() } : { version: 2, store: new KvV2Store() };
    this.kvMounts.set(key, mount);
    return mount;
  }

  findKvMount(path: string): { name: string; mount: KvMount; rest: string } | undefined {
    return longestMount(this.kvMounts, path);
  }

  /** The kubernetes auth mount at `name`, created on first use. */
  kubernetes(name: string): KubernetesAuth {
    let mount = this.kubernetesMounts.get(name);
    if (!mount) this.kubernetesMounts.set(name, (mount = new KubernetesAuth(this.options.tokenReviewer)));
    return mount;
  }

  /** The approle auth mount at `name`, created on first use. */
  appRole(name: string): AppRoleAuth {
    let mount = this.appRoleMounts.get(name);
    if (!mount) this.appRoleMounts.set(name, (mount = new AppRoleAuth()));
    return mount;
  }

  findAuthMount(path: string): { name: string; kind: "kubernetes" | "approle"; rest: string } | undefined {
    const k = longestMount(this.kubernetesMounts, path);
    const a = longestMount(this.appRoleMounts, path);
    if (k && (!a || k.name.length >= a.name.length)) return { name: k.name, kind: "kubernetes", rest: k.rest };
    return a ? { name: a.name, kind: "approle", rest: a.rest } : undefined;
  }
}
