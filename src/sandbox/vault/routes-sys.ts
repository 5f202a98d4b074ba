// The `sys/` routes: health, seal and unseal, ACL policies, mount discovery.
import { HclParseError } from "./hcl.js";
import { badRequest, envelope, noContent, notFound, ok, permissionDenied, type RequestContext, type Route, type VaultReply } from "./route.js";
import type { VaultState } from "./vault-state.js";

/** The Vault release the emulator reports; new enough for every client feature the broker uses. */
export const EMULATED_VERSION = "1.17.6";
const CLUSTER = { cluster_name: "vault-cluster-sandbox", cluster_id: "00000000-0000-4000-8000-00000000c0de" };

function sealStatus(state: VaultState): Record<string, unknown> {
  return {
    type: "shamir",
    initialized: true,
    sealed: state.sealed,
    t: 1,
    n: 1,
    progress: 0,
    nonce: "",
    version: EMULATED_VERSION,
    build_date: "2024-09-30T00:00:00Z",
    migration: false,
    recovery_seal: false,
    storage_type: "inmem",
    ...(state.sealed ? {} : CLUSTER),
  };
}

function codeParam(query: URLSearchParams, name: string, fallback: number): number {
  const n = Number(query.get(name));
  return query.has(name) && Number.isInteger(n) && n >= 100 && n <= 599 ? n : fallback;
}

function health(ctx: RequestContext): VaultReply {
  const { state, query } = ctx;
  // Always the active node of an initialised single-node cluster, so standbyok/perfstandbyok change nothing.
  const status = state.sealed ? codeParam(query, "sealedcode", 503) : codeParam(query, "activecode", 200);
  return {
    status,
    body: {
      initialized: true,
      sealed: state.sealed,
      standby: false,
      performance_standby: false,
      replication_performance_mode: "disabled",
      replication_dr_mode: "disabled",
      server_time_utc: Math.floor(state.clock() / 1000),
      version: EMULATED_VERSION,
      enterprise: false,
      echo_duration_ms: 0,
      clock_skew_ms: 0,
      ...CLUSTER,
    },
  };
}

function unseal(ctx: RequestContext): VaultReply {
  const { state, body } = ctx;
  if (body["reset"] === true) return ok(sealStatus(state));
  if (typeof body["key"] !== "string" || body["key"] === "") throw badRequest("'key' must be specified in request body as JSON, or 'reset' set to true");
  if (state.sealed && body["key"] !== state.unsealKey) throw badRequest("invalid key");
  state.sealed = false;
  return ok(sealStatus(state));
}

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
            throw badRequest(err instanceof HclParseError ? `failed to parse policy: ${err.message}` : "cannot update policy");
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

/** Resolves a `sys/...` path (given without the `sys/` prefix) to its route, or undefined when none. */
export function sysRoute(ctx: RequestContext, rest: string): Route | undefined {
  const write = ctx.op === "write";
  if (rest === "health" && ctx.op === "read") return { operation: "health", auth: "none", whenSealed: true, handle: health };
  if (rest === "seal-status" && ctx.op === "read") return { operation: "seal-status", auth: "none", whenSealed: true, handle: (c) => ok(sealStatus(c.state)) };
  if (rest === "unseal" && write) return { operation: "unseal", auth: "none", whenSealed: true, handle: unseal };
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
  if (preflight && ctx.op === "read") {
    return {
      operation: "mounts",
      auth: "token",
      skipAcl: true,
      handle: (c) => {
        const found = c.state.findKvMount(preflight[1] ?? "");
        if (!found) throw permissionDenied();
        return ok(envelope({ data: mountInfo(found.name, found.mount.version) }));
      },
    };
  }
  return undefined;
}
