// The request pipeline of the Vault emulator, in real Vault's order: admin routes and faults, JSON limits, body, seal, token, ACL, then the route.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallCounters } from "../common/counters.js";
import { answerFault, type FaultInjector } from "../common/faults.js";
import { handleAdmin, sendJson, type RequestHandler } from "../common/http-server.js";
import { authRoute } from "./routes-auth.js";
import { kvV1Route, kvV2Route } from "./routes-kv.js";
import { rawHttpRoute } from "./routes-seal.js";
import { sysRoute } from "./routes-sys.js";
import { checkJsonLimits } from "./json-limits.js";
import { logicalRequestData } from "./request-body.js";
import { aclDenied, invalidToken, permissionDenied, requiredCapability, VaultError, type Operation, type RequestContext, type Route, type VaultReply } from "./route.js";
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

/**
 * Checks token and ACL for a route, in Vault's words: no token at all is a bare "permission
 * denied"; an unknown, expired or revoked token is the two-error list ending in "invalid token";
 * a live token its policies do not allow (sudo included) is the one-error list. Throws VaultError 403.
 */
function authorize(route: Route, ctx: RequestContext): void {
  if (route.auth === "none") return;
  if (ctx.clientToken === undefined) throw permissionDenied();
  const token = ctx.state.tokens.lookup(ctx.clientToken);
  if (!token) throw invalidToken();
  ctx.token = token;
  if (route.skipAcl) return;
  const acl = ctx.state.policies.acl(token.policies);
  if (!acl.allows(ctx.path, requiredCapability(route, ctx))) throw aclDenied();
  if (route.sudo && !acl.allows(ctx.path, "sudo")) throw aclDenied();
}

/**
 * An injected refusal in the words real Vault uses: a login (or any route without a token) is the
 * auth method's bare `permission denied`; a token route is refused as a removed policy refuses it
 * (403) or, for 401, as a revoked or expired token is. Vault has no 401: a credential it does not
 * accept is also 403, `invalid token`.
 */
function deniedError(route: Route | undefined, status: 401 | 403): VaultError {
  if (route?.auth === "none") return permissionDenied();
  return status === 401 ? invalidToken() : aclDenied();
}

/** Headers real Vault puts on every /v1 answer: no caching, and the namespace header echoed back when one was sent. */
function commonHeaders(req: IncomingMessage): Record<string, string> {
  const namespace = req.headers["x-vault-namespace"];
  return { "cache-control": "no-store", ...(typeof namespace === "string" && namespace !== "" ? { "x-vault-namespace": namespace } : {}) };
}

/** Runs the request through Vault's checks in Vault's order and returns the reply; throws nothing. */
async function answer(route: Route | undefined, ctx: RequestContext, req: IncomingMessage, raw: Buffer): Promise<VaultReply> {
  try {
    // wrapJSONLimitsHandler runs before the mux sees the request, whatever the path or method.
    const limits = checkJsonLimits(raw);
    if (limits !== undefined) throw new VaultError(500, [limits]);
    if (!route) throw new VaultError(405, []);
    if (route.rawHttp) return route.rawHttp(ctx, raw);
    ctx.body = logicalRequestData(ctx.httpMethod, req.headers["content-type"], raw);
    if (ctx.state.sealed) throw new VaultError(503, ["Vault is sealed"]);
    authorize(route, ctx);
    return await route.handle(ctx);
  } catch (err) {
    // Anything unexpected is Vault's opaque 500; the message could carry request data, so it is not echoed.
    return err instanceof VaultError ? { status: err.status, body: { errors: err.errors } } : { status: 500, body: { errors: ["internal error"] } };
  }
}

/** Go's JSON output: HTML-sensitive characters escaped, and json.Encoder's trailing newline unless the body was json.Marshal'ed. */
function goJson(body: unknown, newline: boolean): string {
  return `${JSON.stringify(body).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}${newline ? "\n" : ""}`;
}

/** Writes a reply as Vault's HTTP layer does: common headers, Go's JSON, no body for 204 or HEAD. */
function writeReply(req: IncomingMessage, res: ServerResponse, reply: VaultReply): void {
  const headers = { ...commonHeaders(req), ...(reply.headers ?? {}) };
  if (reply.status === 204 || req.method === "HEAD" || reply.body === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  const text = goJson(reply.body, reply.withStatusCode !== true);
  res.writeHead(reply.status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/**
 * Builds the HTTP handler over `state`. Namespaces: Vault Community Edition ignores
 * `X-Vault-Namespace` (everything is the root namespace) and only echoes the header back, and so
 * does the emulator.
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
    const ctx: RequestContext = { op: op ?? "read", httpMethod: method, path, query, body: {}, clientToken: tokenOf(req), token: undefined, state };
    const route = !url.pathname.startsWith("/v1/") ? undefined : (rawHttpRoute(ctx) ?? (op ? (resolveRoute(ctx) ?? unknownRoute(path)) : undefined));
    const operation = route?.operation ?? "unknown";

    // Go's net/http stamps every answer with the server's clock (fault offset included).
    res.setHeader("date", new Date(state.clock()).toUTCString());
    const faulted = await answerFault(faults, operation, res, {
      record: (outcome) => counters.record(operation, outcome),
      throttled: (retryAfterSeconds) => sendJson(res, 429, { errors: [`request path "${path}": rate limit quota exceeded`] }, { "retry-after": String(retryAfterSeconds) }),
      failed: () => sendJson(res, 500, { errors: ["internal error"] }),
      denied: (status) => {
        const refusal = deniedError(route, status);
        writeReply(req, res, { status: refusal.status, body: { errors: refusal.errors } });
      },
    });
    if (faulted) return;

    const reply = await answer(route, ctx, req, raw);
    counters.record(operation, outcomeOf(reply.status));
    writeReply(req, res, reply);
  };
}
