// The `auth/` routes: token self-management and creation, kubernetes and approle login and role setup.
import { LoginError } from "./auth-methods.js";
import { parseDurationSeconds } from "./durations.js";
import { badRequest, done, envelope, isoTime, noContent, ok, permissionDenied, stringList, VaultError, type RequestContext, type Route, type VaultReply } from "./route.js";
import { sanitizePolicies, type TokenEntry } from "./tokens.js";
import type { VaultState } from "./vault-state.js";

function authBlock(token: TokenEntry, leaseDurationSeconds: number): Record<string, unknown> {
  return {
    client_token: token.id,
    accessor: token.accessor,
    policies: token.policies,
    token_policies: token.policies,
    metadata: Object.keys(token.meta).length > 0 ? token.meta : null,
    lease_duration: leaseDurationSeconds,
    renewable: token.renewable,
    entity_id: "",
    token_type: "service",
    orphan: token.orphan,
    mfa_requirement: null,
    num_uses: 0,
  };
}

function lookupData(state: VaultState, token: TokenEntry): Record<string, unknown> {
  return {
    accessor: token.accessor,
    creation_time: Math.floor(token.createdMs / 1000),
    creation_ttl: token.creationTtlSeconds,
    display_name: token.displayName,
    entity_id: "",
    expire_time: token.expiresAtMs === null ? null : isoTime(token.expiresAtMs),
    explicit_max_ttl: token.explicitMaxTtlSeconds,
    id: token.id,
    issue_time: isoTime(token.createdMs),
    meta: Object.keys(token.meta).length > 0 ? token.meta : null,
    num_uses: 0,
    orphan: token.orphan,
    path: token.path,
    policies: token.policies,
    renewable: token.renewable,
    ttl: state.tokens.ttlSeconds(token),
    type: "service",
  };
}

function selfToken(ctx: RequestContext): TokenEntry {
  if (!ctx.token) throw permissionDenied();
  return ctx.token;
}

function renewSelf(ctx: RequestContext): VaultReply {
  const token = selfToken(ctx);
  const result = ctx.state.tokens.renew(token, parseDurationSeconds(ctx.body["increment"]));
  if (!result) throw badRequest("lease is not renewable");
  return ok(envelope({ auth: authBlock(result.token, result.leaseDurationSeconds), warnings: result.warnings }));
}

function createToken(ctx: RequestContext): VaultReply {
  const parent = selfToken(ctx);
  const { body, state } = ctx;
  const parentIsRoot = parent.policies.includes("root");
  if (body["id"] !== undefined && !parentIsRoot) throw badRequest("root or sudo privileges required to specify token id");
  const requested = body["policies"] === undefined ? parent.policies : stringList(body["policies"]);
  const policies = sanitizePolicies(requested, body["no_default_policy"] !== true);
  if (!parentIsRoot && policies.some((p) => p !== "default" && !parent.policies.includes(p))) throw badRequest("child policies must be subset of parent");
  const meta = typeof body["meta"] === "object" && body["meta"] !== null ? Object.fromEntries(Object.entries(body["meta"]).map(([k, v]) => [k, String(v)])) : {};
  const { token, warnings } = state.tokens.issue({
    policies,
    ttlSeconds: parseDurationSeconds(body["ttl"]) ?? 0,
    explicitMaxTtlSeconds: parseDurationSeconds(body["explicit_max_ttl"]) ?? 0,
    renewable: body["renewable"] !== false,
    meta,
    displayName: typeof body["display_name"] === "string" ? `token-${body["display_name"]}` : "token",
    path: "auth/token/create",
    ...(typeof body["id"] === "string" ? { id: body["id"] } : {}),
  });
  return ok(envelope({ auth: authBlock(token, state.tokens.ttlSeconds(token)), warnings }));
}

function tokenRoute(ctx: RequestContext, rest: string): Route | undefined {
  const w = ctx.op === "write";
  const r = ctx.op === "read";
  // handleLookup: no token named means the caller's own; an unknown one is 403 "bad token".
  const lookupTarget = (c: RequestContext): TokenEntry => {
    const id = typeof c.body["token"] === "string" && c.body["token"] !== "" ? c.body["token"] : selfToken(c).id;
    const target = c.state.tokens.lookup(id);
    if (!target) throw new VaultError(403, ["bad token"]);
    return target;
  };
  // handleRevokeTree: a token must be named; revoking an unknown one does nothing and succeeds.
  const revokeTarget = (c: RequestContext): string => {
    const id = c.body["token"];
    if (typeof id !== "string" || id === "") throw badRequest("missing token ID");
    return id;
  };
  switch (rest) {
    case "lookup-self":
      return r || w ? { operation: "lookup-self", auth: "token", handle: (c) => ok(envelope({ data: lookupData(c.state, selfToken(c)) })) } : undefined;
    case "renew-self":
      return w ? { operation: "renew-self", auth: "token", handle: renewSelf } : undefined;
    case "revoke-self":
      return w ? { operation: "revoke-self", auth: "token", handle: (c) => done(() => c.state.tokens.revoke(selfToken(c).id)) } : undefined;
    case "create":
    case "create-orphan":
      return w ? { operation: "token create", auth: "token", handle: createToken } : undefined;
    case "lookup":
      return w ? { operation: "token lookup", auth: "token", handle: (c) => ok(envelope({ data: lookupData(c.state, lookupTarget(c)) })) } : undefined;
    case "revoke":
    case "revoke-orphan":
      return w ? { operation: "token revoke", auth: "token", handle: (c) => done(() => c.state.tokens.revoke(revokeTarget(c))) } : undefined;
    default:
      return undefined;
  }
}

async function kubernetesLogin(ctx: RequestContext, mount: string): Promise<VaultReply> {
  const { state, body } = ctx;
  const identity = await state.kubernetes(mount).login(body["role"], body["jwt"]);
  const { token, warnings } = state.tokens.issue({
    policies: sanitizePolicies(identity.config.policies, true),
    ttlSeconds: identity.config.ttlSeconds ?? 0,
    maxTtlSeconds: identity.config.maxTtlSeconds ?? 0,
    meta: { role: identity.role, service_account_name: identity.name, service_account_namespace: identity.namespace, service_account_uid: identity.uid, service_account_secret_name: "" },
    displayName: `${mount}-${identity.namespace}-${identity.name}`,
    path: `auth/${mount}/login`,
  });
  return ok(envelope({ auth: authBlock(token, state.tokens.ttlSeconds(token)), warnings, mountType: "kubernetes" }));
}

function appRoleLogin(ctx: RequestContext, mount: string): VaultReply {
  const { state, body } = ctx;
  const role = state.appRole(mount).login(body["role_id"], body["secret_id"]);
  const { token, warnings } = state.tokens.issue({
    policies: sanitizePolicies(role.policies, true),
    ttlSeconds: role.ttlSeconds,
    maxTtlSeconds: role.maxTtlSeconds,
    meta: { role_name: role.name },
    displayName: mount,
    path: `auth/${mount}/login`,
  });
  return ok(envelope({ auth: authBlock(token, state.tokens.ttlSeconds(token)), warnings, mountType: "approle" }));
}

/** Runs a login, turning LoginError into Vault's error reply. */
async function login(run: () => VaultReply | Promise<VaultReply>): Promise<VaultReply> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof LoginError) throw new VaultError(err.status, [err.message]);
    throw err;
  }
}

function ttlField(value: unknown): { ttlSeconds?: number } {
  const n = parseDurationSeconds(value);
  return n === undefined ? {} : { ttlSeconds: n };
}

function maxTtlField(value: unknown): { maxTtlSeconds?: number } {
  const n = parseDurationSeconds(value);
  return n === undefined ? {} : { maxTtlSeconds: n };
}

function kubernetesRoleRoute(ctx: RequestContext, mount: string, name: string): Route | undefined {
  const roles = ctx.state.kubernetes(mount).roles;
  switch (ctx.op) {
    case "write":
      return {
        operation: "kubernetes role write",
        auth: "token",
        exists: () => roles.has(name),
        handle: (c) => {
          const b = c.body;
          roles.set(name, {
            boundServiceAccountNames: stringList(b["bound_service_account_names"]),
            boundServiceAccountNamespaces: stringList(b["bound_service_account_namespaces"]),
            policies: stringList(b["token_policies"] ?? b["policies"]),
            ...ttlField(b["token_ttl"] ?? b["ttl"]),
            ...maxTtlField(b["token_max_ttl"] ?? b["max_ttl"]),
          });
          return noContent();
        },
      };
    case "read":
      return {
        operation: "kubernetes role read",
        auth: "token",
        handle: () => {
          const role = roles.get(name);
          if (!role) throw new VaultError(404, []);
          const data = {
            bound_service_account_names: role.boundServiceAccountNames,
            bound_service_account_namespaces: role.boundServiceAccountNamespaces,
            token_policies: role.policies,
            policies: role.policies,
            token_ttl: role.ttlSeconds ?? 0,
            ttl: role.ttlSeconds ?? 0,
            token_max_ttl: role.maxTtlSeconds ?? 0,
            max_ttl: role.maxTtlSeconds ?? 0,
          };
          return ok(envelope({ data }));
        },
      };
    case "delete":
      return { operation: "kubernetes role delete", auth: "token", handle: () => done(() => roles.delete(name)) };
    case "list":
    case "patch":
      return undefined;
  }
}

function appRoleRoleRoute(ctx: RequestContext, mount: string, name: string, tail: string | undefined): Route | undefined {
  const auth = ctx.state.appRole(mount);
  if (tail === undefined && ctx.op === "write") {
    return {
      operation: "approle role write",
      auth: "token",
      exists: () => auth.roles.has(name),
      handle: (c) => {
        const b = c.body;
        auth.configure(name, { policies: stringList(b["token_policies"] ?? b["policies"]), bindSecretId: b["bind_secret_id"] !== false, ...ttlField(b["token_ttl"]), ...maxTtlField(b["token_max_ttl"]) });
        return noContent();
      },
    };
  }
  const role = (): NonNullable<ReturnType<typeof auth.roles.get>> => {
    const found = auth.roles.get(name);
    if (!found) throw badRequest(`role "${name}" does not exist`);
    return found;
  };
  if (tail === "role-id" && ctx.op === "read") return { operation: "approle role-id", auth: "token", handle: () => ok(envelope({ data: { role_id: role().roleId } })) };
  if (tail === "secret-id" && ctx.op === "write") {
    return {
      operation: "approle secret-id",
      auth: "token",
      handle: () => {
        const secretId = auth.addSecretId(role().name) ?? "";
        return ok(envelope({ data: { secret_id: secretId, secret_id_accessor: secretId.slice(0, 8), secret_id_ttl: 0, secret_id_num_uses: 0 } }));
      },
    };
  }
  return undefined;
}

/** Resolves an `auth/...` path (given without the `auth/` prefix) to its route, or undefined when none. */
export function authRoute(ctx: RequestContext, rest: string): Route | undefined {
  if (rest.startsWith("token/")) return tokenRoute(ctx, rest.slice("token/".length));
  const mount = ctx.state.findAuthMount(rest);
  if (!mount) return undefined;
  const write = ctx.op === "write";
  if (mount.rest === "login" && write) {
    const { name, kind } = mount;
    return {
      operation: `login ${kind}`,
      auth: "none",
      handle: (c) => login(() => (kind === "kubernetes" ? kubernetesLogin(c, name) : appRoleLogin(c, name))),
    };
  }
  const role = /^role\/([^/]+)(?:\/(role-id|secret-id))?$/.exec(mount.rest);
  if (role?.[1] !== undefined) return mount.kind === "kubernetes" ? (role[2] ? undefined : kubernetesRoleRoute(ctx, mount.name, role[1])) : appRoleRoleRoute(ctx, mount.name, role[1], role[2]);
  if (mount.kind === "kubernetes" && mount.rest === "config" && write) return { operation: "kubernetes config", auth: "token", handle: () => noContent() };
  return undefined;
}
