// Kubernetes and AppRole auth methods: role configuration and the checks a login performs before a token is issued.
import { randomUUID } from "node:crypto";

/** Reviews a service-account JWT, as the Kubernetes TokenReview API does (injected; may do I/O). */
export type TokenReviewer = (jwt: string) => Promise<{ authenticated: boolean; username?: string; uid?: string; groups?: string[] }>;

export interface KubernetesRoleConfig {
  boundServiceAccountNames: string[];
  boundServiceAccountNamespaces: string[];
  policies: string[];
  ttlSeconds?: number;
  maxTtlSeconds?: number;
}

export interface AppRoleConfig {
  policies: string[];
  /** Fixed role_id; random when absent. */
  roleId?: string;
  /** Fixed secret_id; random when absent. */
  secretId?: string;
  /** When false, login needs only the role_id (Vault's bind_secret_id=false). */
  bindSecretId?: boolean;
  ttlSeconds?: number;
  maxTtlSeconds?: number;
}

export interface AppRole {
  name: string;
  roleId: string;
  secretIds: Set<string>;
  bindSecretId: boolean;
  policies: string[];
  ttlSeconds: number;
  maxTtlSeconds: number;
}

/** A login refused with Vault's status and message. */
export class LoginError extends Error {
  constructor(
    readonly status: 400 | 403 | 500,
    message: string,
  ) {
    super(message);
    this.name = "LoginError";
  }
}

export interface KubernetesIdentity {
  role: string;
  namespace: string;
  name: string;
  uid: string;
  config: KubernetesRoleConfig;
}

/** Glob match as Vault's strutil.StrListContainsGlob: `*` matches any run of characters. */
export function globListContains(patterns: readonly string[], value: string): boolean {
  return patterns.some((p) => new RegExp(`^${p.split("*").map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(value));
}

/** One mount of the kubernetes auth method. */
export class KubernetesAuth {
  readonly roles = new Map<string, KubernetesRoleConfig>();

  constructor(private readonly reviewer: TokenReviewer | undefined) {}

  /**
   * Checks a login the way vault-plugin-auth-kubernetes does, in this order: missing fields (400),
   * unknown role (400), TokenReview says no (403 permission denied), name then namespace not bound
   * (403). Unlike the plugin, the service account comes from the TokenReview's username
   * (`system:serviceaccount:<ns>:<name>`), not from unverified JWT claims. Calls the reviewer (I/O).
   */
  async login(role: unknown, jwt: unknown): Promise<KubernetesIdentity> {
    if (typeof role !== "string" || role === "") throw new LoginError(400, "missing role");
    if (typeof jwt !== "string" || jwt === "") throw new LoginError(400, "missing jwt");
    const config = this.roles.get(role);
    if (!config) throw new LoginError(400, `invalid role name "${role}"`);
    if (!this.reviewer) throw new LoginError(500, "could not load backend configuration");
    let review: Awaited<ReturnType<TokenReviewer>>;
    try {
      review = await this.reviewer(jwt);
    } catch {
      // The plugin answers permission denied for every failed lookup, reachable or not.
      throw new LoginError(403, "permission denied");
    }
    const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(review.username ?? "");
    if (!review.authenticated || !match) throw new LoginError(403, "permission denied");
    const [, namespace = "", name = ""] = match;
    const names = config.boundServiceAccountNames;
    if (!(names.length === 1 && names[0] === "*") && !globListContains(names, name)) throw new LoginError(403, "service account name not authorized");
    if (!globListContains(config.boundServiceAccountNamespaces, namespace)) throw new LoginError(403, "namespace not authorized");
    return { role, namespace, name, uid: review.uid ?? "", config };
  }
}

/** One mount of the approle auth method. */
export class AppRoleAuth {
  readonly roles = new Map<string, AppRole>();

  configure(name: string, config: AppRoleConfig): { roleId: string; secretId: string } {
    const roleId = config.roleId ?? this.roles.get(name)?.roleId ?? randomUUID();
    const secretId = config.secretId ?? randomUUID();
    this.roles.set(name, {
      name,
      roleId,
      secretIds: new Set([...(this.roles.get(name)?.secretIds ?? []), secretId]),
      bindSecretId: config.bindSecretId ?? true,
      policies: config.policies,
      ttlSeconds: config.ttlSeconds ?? 0,
      maxTtlSeconds: config.maxTtlSeconds ?? 0,
    });
    return { roleId, secretId };
  }

  /** Issues one more secret_id for an existing role; undefined when the role is unknown. */
  addSecretId(name: string): string | undefined {
    const role = this.roles.get(name);
    if (!role) return undefined;
    const secretId = randomUUID();
    role.secretIds.add(secretId);
    return secretId;
  }

  /** Checks role_id/secret_id; every mismatch is Vault's 400 "invalid role or secret ID". Pure. */
  login(roleId: unknown, secretId: unknown): AppRole {
    if (typeof roleId !== "string" || roleId === "") throw new LoginError(400, "missing role_id");
    const role = [...this.roles.values()].find((r) => r.roleId === roleId);
    if (!role) throw new LoginError(400, "invalid role or secret ID");
    if (role.bindSecretId) {
      if (typeof secretId !== "string" || secretId === "") throw new LoginError(400, "missing secret_id");
      if (!role.secretIds.has(secretId)) throw new LoginError(400, "invalid role or secret ID");
    }
    return role;
  }
}
