// The logical `sys/` routes: seal, ACL policies, mount discovery (health, seal-status and unseal are in routes-seal.ts).
import { HclParseError } from "./hcl.js";
import { badRequest, envelope, invalidToken, noContent, notFound, ok, permissionDenied, VaultError, type RequestContext, type Route, type VaultReply } from "./route.js";

function policyRoute(ctx: RequestContext, name: string): Route | undefined {
  const { policies } = ctx.state;
  if (name === "") {
    if (ctx.op !== "list" && ctx.op !== "read") return undefined;
    return { operation: "policy list", auth: "token", handle: () => ok(envelope({ data: { keys: policies.names(), policies: policies.names() } })) };
  }
  switch (ctx.op) {
    case "read":
      return {
        operation: "policy read",
        auth: "token",
        handle: () => {
          const hcl = policies.read(name);
          if (hcl === undefined) throw notFound();
          return ok(envelope({ data: { name, policy: hcl, rules: hcl } }));
        },
      };
    case "write":
      return {
        operation: "policy write",
        auth: "token",
        exists: () => policies.read(name) !== undefined,
        handle: (c) => {
          const text = c.body["policy"] ?? c.body["rules"];
          if (typeof text !== "string") throw badRequest("'policy' parameter not supplied or empty");
          try {
            policies.write(name, text);
          } catch (err) {
            throw badRequest(err instanceof HclParseError ? `failed to parse policy: ${err.vaultText ?? err.message}` : "cannot update policy");
          }
          return noContent();
        },
      };
    case "delete":
      return {
        operation: "policy delete",
        auth: "token",
        handle: () => {
          try {
            policies.delete(name);
          } catch {
            throw badRequest(`cannot delete "${name}" policy`);
          }
          return noContent();
        },
      };
    case "list":
    case "patch":
      return undefined;
  }
}

function mountInfo(name: string, version: 1 | 2): Record<string, unknown> {
  return { path: `${name}/`, type: "kv", description: "", options: { version: String(version) }, accessor: `kv_${name}`, local: false, seal_wrap: false };
}

/**
 * sys/internal/ui/mounts/<path> (pathInternalUIMountRead): an unauthenticated path that checks the
 * token itself, so no token is a bare "permission denied" and a dead one the "invalid token" list;
 * a path under no mount, or a mount the token's policies reach nowhere, is the 403 "preflight
 * capability check" refusal (the same for both, so mounts cannot be probed).
 */
function preflightMount(ctx: RequestContext, requested: string): VaultReply {
  const path = `${requested.replace(/^\/+/, "").replace(/\/+$/, "")}/`;
  if (ctx.clientToken === undefined) throw permissionDenied();
  const token = ctx.state.tokens.lookup(ctx.clientToken);
  if (!token) throw invalidToken();
  const refused = new VaultError(403, [`preflight capability check returned 403, please ensure client's policies grant access to path "${path}"`]);
  const found = ctx.state.findKvMount(path.slice(0, -1));
  if (!found) throw refused;
  if (!ctx.state.policies.acl(token.policies).reachesUnder(`${found.name}/`)) throw refused;
  return ok(envelope({ data: mountInfo(found.name, found.mount.version) }));
}

/** Resolves a `sys/...` path (given without the `sys/` prefix) to its route, or undefined when none. */
export function sysRoute(ctx: RequestContext, rest: string): Route | undefined {
  const write = ctx.op === "write";
  if (rest === "seal" && write) {
    return {
      operation: "seal",
      auth: "token",
      sudo: true,
      handle: (c) => {
        c.state.sealed = true;
        return noContent();
      },
    };
  }
  const policy = /^(?:policies\/acl|policy)(?:\/(.*))?$/.exec(rest.replace(/\/$/, ""));
  if (policy) return policyRoute(ctx, policy[1] ?? "");
  if (rest === "mounts" && ctx.op === "read") {
    return {
      operation: "mounts",
      auth: "token",
      handle: (c) => {
        const data: Record<string, unknown> = {};
        for (const [name, m] of c.state.kvMounts) data[`${name}/`] = mountInfo(name, m.version);
        return ok({ ...envelope({ data }), ...data });
      },
    };
  }
  const preflight = /^internal\/ui\/mounts\/(.+)$/.exec(rest);
  if (preflight && ctx.op === "read") return { operation: "mounts", auth: "none", handle: (c) => preflightMount(c, preflight[1] ?? "") };
  return undefined;
}
