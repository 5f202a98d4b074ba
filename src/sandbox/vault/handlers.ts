// The request pipeline of the Vault emulator: admin routes, faults, namespace, seal, token, ACL, then the route.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallCounters } from "../common/counters.js";
import { answerFault, type FaultInjector } from "../common/faults.js";
import { handleAdmin, sendJson, type RequestHandler } from "../common/http-server.js";
import { authRoute } from "./routes-auth.js";
import { kvV1Route, kvV2Route } from "./routes-kv.js";
import { sysRoute } from "./routes-sys.js";
import { permissionDenied, requiredCapability, VaultError, type Operation, type RequestContext, type Route, type VaultReply } from "./route.js";
import type { VaultState } from "./vault-state.js";

function operationOf(method: string, query: URLSearchParams): Operation | undefined {
  switch (method) {
    case "GET":
    case "HEAD":
      return query.get("list") === "true" || query.get("list") === "1" ? "list" : "read";
    case "LIST":
      return "list";
    case "POST":
    case "PUT":
      return "write";
    case "DELETE":
      return "delete";
    case "PATCH":
      return "patch";
    default:
      return undefined;
  }
}

function resolveRoute(ctx: RequestContext): Route | undefined {
  const { path, state } = ctx;
  if (path.startsWith("sys/")) return sysRoute(ctx, path.slice(4));
  if (path.startsWith("auth/")) return authRoute(ctx, path.slice(5));
  const kv = state.findKvMount(path.replace(/\/$/, ""));
  if (kv) {
    const rest = ctx.op === "list" ? path.slice(kv.name.length + 1) : kv.rest;
    return kv.mount.version === 2 ? kvV2Route(ctx, kv.mount.store, rest) : kvV1Route(ctx, kv.mount.store, rest);
  }
  return undefined;
}

/** A route for paths nothing serves: after the ACL check (as in Vault, which checks before routing) it answers 404. */
function unknownRoute(path: string): Route {
  return { operation: "unknown", auth: "token", handle: () => ({ status: 404, body: { errors: [`no handler for route "${path}". route entry not found.`] } }) };
}

function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers["x-vault-token"];
  if (typeof header === "string" && header !== "") return header;
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
  return bearer?.[1];
}

function outcomeOf(status: number): string {
  if (status < 300) return "ok";
  if (status === 403) return "denied";
  if (status === 404) return "not_found";
  if (status === 429) return "throttled";
  if (status === 503) return "sealed";
  if (status >= 500) return "error";
  return "bad_request";
}

function parseBody(raw: Buffer): Record<string, unknown> {
  const text = raw.toString("utf8").trim();
  if (text === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new VaultError(400, ["failed to parse JSON input: invalid character in request body"]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new VaultError(400, ["failed to parse JSON input: body must be a JSON object"]);
  return parsed as Record<string, unknown>;
}

/** Checks token and ACL for a route; throws VaultError 403 "permission denied" as real Vault does for bad tokens and denials. */
function authorize(route: Route, ctx: RequestContext, req: IncomingMessage): void {
  if (route.auth === "none") return;
  const id = tokenOf(req);
  const token = id === undefined ? undefined : ctx.state.tokens.lookup(id);
  if (!token) throw permissionDenied();
  ctx.token = token;
  if (route.skipAcl) return;
  const acl = ctx.state.policies.acl(token.policies);
  if (!acl.allows(ctx.path, requiredCapability(route, ctx))) throw permissionDenied();
  if (route.sudo && !acl.allows(ctx.path, "sudo")) throw permissionDenied();
}

/**
 * Builds the HTTP handler over `state`. Namespaces: only the root namespace exists (as in Vault
 * Community Edition); an `X-Vault-Namespace` other than empty, "root" or "/" is answered 400.
 */
export function createVaultHandler(state: VaultState, faults: FaultInjector, counters: CallCounters): RequestHandler {
  return async (req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> => {
    if (handleAdmin(req, res, raw, faults, counters)) return;
    const url = new URL(req.url ?? "/", "http://vault.invalid");
    const method = req.method ?? "GET";
    const query = url.searchParams;
    const op = operationOf(method, query);
    let path = decodeURIComponent(url.pathname).replace(/^\/v1\//, "").replace(/^\/+/, "");
    if (op === "list" && !path.endsWith("/")) path += "/";
    const ctx: RequestContext = { op: op ?? "read", httpMethod: method, path, query, body: {}, token: undefined, state };
    const route = !url.pathname.startsWith("/v1/") || !op ? undefined : (resolveRoute(ctx) ?? unknownRoute(path));
    const operation = route?.operation ?? "unknown";

    const faulted = await answerFault(faults, operation, res, {
      record: (outcome) => counters.record(operation, outcome),
      throttled: (retryAfterSeconds) => sendJson(res, 429, { errors: [`request path "${path}": rate limit quota exceeded`] }, { "retry-after": String(retryAfterSeconds) }),
      failed: () => sendJson(res, 500, { errors: ["internal error"] }),
    });
    if (faulted) return;

    let reply: VaultReply;
    try {
      if (!route) throw new VaultError(405, ["unsupported operation"]);
      const namespace = req.headers["x-vault-namespace"];
      if (typeof namespace === "string" && !["", "root", "/", "root/"].includes(namespace)) throw new VaultError(400, [`namespace "${namespace}" does not exist: the emulator serves only the root namespace`]);
      if (state.sealed && !route.whenSealed) throw new VaultError(503, ["Vault is sealed"]);
      ctx.body = parseBody(raw);
      authorize(route, ctx, req);
      reply = await route.handle(ctx);
    } catch (err) {
      // Anything unexpected is Vault's opaque 500; the message could carry request data, so it is not echoed.
      reply = err instanceof VaultError ? { status: err.status, body: { errors: err.errors } } : { status: 500, body: { errors: ["internal error"] } };
    }
    counters.record(operation, outcomeOf(reply.status));
    if (reply.status === 204 || method === "HEAD" || reply.body === undefined) {
      res.writeHead(reply.status, reply.headers ?? {});
      res.end();
      return;
    }
    sendJson(res, reply.status, reply.body, reply.headers ?? {});
  };
}
