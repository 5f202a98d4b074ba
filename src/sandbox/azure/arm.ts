// ARM routes for function apps: sites get/list, functions list, function and host keys, behind bearer-token checks.
import type { IncomingMessage, ServerResponse } from "node:http";
import { answerFault } from "../common/faults.js";
import { sendJson } from "../common/http-server.js";
import { armError, functionEnvelope, functionKeysResource, hostKeysResource, page, siteResource, webError } from "./arm-resources.js";
import { emulatorNow, isArmResource, requestOrigin, type AzureContext } from "./context.js";
import type { Principal } from "./directory.js";
import { roleOf, sortedFunctions, type FunctionApp } from "./function-apps.js";
import { decodeJwt, verifyJwtSignature } from "./jwt.js";

/** ARM accepts tokens whose `nbf` is this far in the future, in seconds. */
const TOKEN_SKEW_SECONDS = 300;

/** Every ARM operation the emulator serves: fault settings may name only these. */
export const ARM_OPERATIONS = ["arm:sites.list", "arm:sites.listByResourceGroup", "arm:sites.get", "arm:functions.list", "arm:functions.get", "arm:functions.listKeys", "arm:host.listKeys"] as const;

type ArmOperation = (typeof ARM_OPERATIONS)[number];

interface ArmRoute {
  operation: ArmOperation;
  /** RBAC action checked for the caller, named as ARM names it in AuthorizationFailed. */
  action: string;
  subscriptionId: string;
  resourceGroup?: string;
  site?: string;
  fn?: string;
}

const SITES = ["providers", "microsoft.web", "sites"];

/** Maps method and path to an ARM route; undefined for anything the emulator does not serve. */
function matchRoute(method: string, path: string): ArmRoute | undefined {
  const s = path.split("/").filter((p) => p.length > 0).map((p) => decodeURIComponent(p));
  const lower = s.map((p) => p.toLowerCase());
  const is = (from: number, words: readonly string[]): boolean => words.every((w, i) => lower[from + i] === w);
  if (lower[0] !== "subscriptions" || s[1] === undefined) return undefined;
  const subscriptionId = s[1];
  if (lower.length === 5 && is(2, SITES) && method === "GET") return { operation: "arm:sites.list", action: "Microsoft.Web/sites/read", subscriptionId };
  if (lower[2] !== "resourcegroups" || s[3] === undefined || !is(4, SITES)) return undefined;
  const resourceGroup = s[3];
  const site = s[7];
  const rest = lower.slice(8);
  if (site === undefined) {
    return lower.length === 7 && method === "GET" ? { operation: "arm:sites.listByResourceGroup", action: "Microsoft.Web/sites/read", subscriptionId, resourceGroup } : undefined;
  }
  const base = { subscriptionId, resourceGroup, site };
  if (rest.length === 0 && method === "GET") return { operation: "arm:sites.get", action: "Microsoft.Web/sites/read", ...base };
  if (rest.length === 1 && rest[0] === "functions" && method === "GET") return { operation: "arm:functions.list", action: "Microsoft.Web/sites/functions/read", ...base };
  if (rest.length === 2 && rest[0] === "functions" && method === "GET") return { operation: "arm:functions.get", action: "Microsoft.Web/sites/functions/read", ...base, fn: s[9] ?? "" };
  if (rest.length === 3 && rest[0] === "functions" && rest[2] === "listkeys" && method === "POST")
    return { operation: "arm:functions.listKeys", action: "Microsoft.Web/sites/functions/listkeys/action", ...base, fn: s[9] ?? "" };
  if (rest.join("/") === "host/default/listkeys" && method === "POST") return { operation: "arm:host.listKeys", action: "Microsoft.Web/sites/host/listkeys/action", ...base };
  return undefined;
}

/**
 * Serves an ARM request (any path not claimed by Entra). Applies faults, checks api-version and
 * the bearer token, authorizes by the app's role assignments, and counts the call by operation.
 */
export async function handleArm(req: IncomingMessage, res: ServerResponse, ctx: AzureContext): Promise<void> {
  const origin = requestOrigin(req, ctx);
  const url = new URL(req.url ?? "/", origin);
  const route = matchRoute(req.method ?? "GET", url.pathname);
  if (!route) {
    ctx.counters.record("arm:unknown", "notFound");
    sendJson(res, 404, armError("NotFound", `The emulator serves no ${req.method ?? "GET"} ${url.pathname}.`));
    return;
  }
  const op = route.operation;
  const faulted = await answerFault(ctx.faults, op, res, {
    record: (outcome) => ctx.counters.record(op, outcome),
    throttled: (decided) => {
      const retryAfterSeconds = ctx.faultShapes.retryAfterSeconds ?? decided;
      sendJson(
        res,
        429,
        armError("TooManyRequests", `The request is being throttled as the limit has been reached for operation type - ${op}. Retry after ${retryAfterSeconds} seconds.`),
        { "retry-after": String(retryAfterSeconds), "x-ms-ratelimit-remaining-subscription-reads": "0" },
      );
    },
    failed: () => sendJson(res, 500, armError("InternalServerError", "Encountered internal server error. Diagnostic information: emulated fault.")),
    denied: (status) =>
      status === 401
        ? sendJson(res, 401, armError("InvalidAuthenticationToken", "The access token is invalid."), { "www-authenticate": `Bearer authorization_uri="${origin}/", error="invalid_token", error_description="The access token is invalid."` })
        : sendJson(res, 403, armError("AuthorizationFailed", `The client does not have authorization to perform action over scope '${url.pathname}' or the scope is invalid. If access was recently granted, please refresh your credentials.`)),
  });
  if (faulted) return;

  const auth = authenticate(req, ctx);
  if ("failure" in auth) {
    ctx.counters.record(op, "unauthenticated");
    sendJson(res, 401, armError(auth.failure.code, auth.failure.message), {
      "www-authenticate": `Bearer authorization_uri="${origin}/", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header or the token is invalid."`,
    });
    return;
  }
  if (!url.searchParams.get("api-version")) {
    ctx.counters.record(op, "badRequest");
    sendJson(res, 400, armError("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."));
    return;
  }
  answer(route, auth.principal, url, res, ctx);
}

function scopeOf(route: ArmRoute): string {
  const sub = `/subscriptions/${route.subscriptionId}`;
  if (route.resourceGroup === undefined) return sub;
  const rg = `${sub}/resourceGroups/${route.resourceGroup}`;
  return route.site === undefined ? rg : `${rg}/providers/Microsoft.Web/sites/${route.site}`;
}

function authorizationFailed(res: ServerResponse, route: ArmRoute, principal: Principal, ctx: AzureContext): void {
  ctx.counters.record(route.operation, "denied");
  sendJson(
    res,
    403,
    armError(
      "AuthorizationFailed",
      `The client '${principal.objectId}' with object id '${principal.objectId}' does not have authorization to perform action '${route.action}' over scope '${scopeOf(route)}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    ),
  );
}

/**
 * Answers an authenticated request. ARM authorizes before it looks the resource up, so a
 * principal without any role in the subscription gets 403 even for a missing app; one with a
 * role somewhere in the subscription learns that the app does not exist (404).
 */
function answer(route: ArmRoute, principal: Principal, url: URL, res: ServerResponse, ctx: AzureContext): void {
  const op = route.operation;
  if (route.site === undefined) {
    if (!ctx.apps.hasAnyRoleInSubscription(route.subscriptionId, principal.clientId)) return authorizationFailed(res, route, principal, ctx);
    // ARM filters collection reads down to what the caller may read.
    const visible = ctx.apps
      .listInSubscription(route.subscriptionId)
      .filter((app) => route.resourceGroup === undefined || app.resourceGroup.toLowerCase() === route.resourceGroup.toLowerCase())
      .filter((app) => roleOf(app, principal.clientId) !== "none");
    ctx.counters.record(op);
    sendJson(res, 200, page(visible.map(siteResource), skipToken(url), ctx.pageSize, url));
    return;
  }
  const app = ctx.apps.get(route.subscriptionId, route.resourceGroup ?? "", route.site);
  const role = app ? roleOf(app, principal.clientId) : "none";
  const needsKeys = op === "arm:functions.listKeys" || op === "arm:host.listKeys";
  if (app ? role === "none" || (needsKeys && role !== "contributor") : !ctx.apps.hasAnyRoleInSubscription(route.subscriptionId, principal.clientId)) {
    return authorizationFailed(res, route, principal, ctx);
  }
  if (!app && !ctx.apps.hasResourceGroup(route.subscriptionId, route.resourceGroup ?? "")) {
    return notFound(res, op, ctx, `Resource group '${route.resourceGroup ?? ""}' could not be found.`, "ResourceGroupNotFound");
  }
  if (!app) return notFound(res, op, ctx, `The Resource 'Microsoft.Web/sites/${route.site}' under resource group '${route.resourceGroup ?? ""}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
  respondForApp(route, app, url, res, ctx);
}

/** Calls ARM proxies to the app's own host, which a stopped app does not run. */
const HOST_PROXIED: ReadonlySet<ArmOperation> = new Set<ArmOperation>(["arm:functions.list", "arm:functions.get", "arm:functions.listKeys", "arm:host.listKeys"]);

function respondForApp(route: ArmRoute, app: FunctionApp, url: URL, res: ServerResponse, ctx: AzureContext): void {
  const op = route.operation;
  if (app.state === "Stopped" && HOST_PROXIED.has(op)) return answerStopped(op, app, res, ctx);
  switch (op) {
    case "arm:sites.get":
      ctx.counters.record(op);
      return sendJson(res, 200, siteResource(app));
    case "arm:functions.list":
      ctx.counters.record(op);
      return sendJson(res, 200, page(sortedFunctions(app).map((fn) => functionEnvelope(app, fn)), skipToken(url), ctx.pageSize, url));
    case "arm:functions.get":
    case "arm:functions.listKeys": {
      const fn = app.functions.get((route.fn ?? "").toLowerCase());
      if (!fn) return notFound(res, op, ctx, `Error retrieving function '${route.fn ?? ""}' of site '${app.name}'. Function not found.`, "NotFound");
      ctx.counters.record(op);
      return sendJson(res, 200, op === "arm:functions.get" ? functionEnvelope(app, fn) : functionKeysResource(app, fn));
    }
    case "arm:host.listKeys":
      ctx.counters.record(op);
      return sendJson(res, 200, hostKeysResource(app));
    case "arm:sites.list":
    case "arm:sites.listByResourceGroup":
      // Collections are answered in `answer`; reaching here means a routing bug.
      throw new Error(`collection route ${op} reached the per-app responder`);
  }
}

/**
 * A stopped app, as Microsoft.Web answers for it: the function list (and a function) 404 in its
 * capitalised shape, since its host is not running; the key lists 400 with the extensions API's
 * refusal (the documented answer when an ARM deployment touches a stopped app's keys).
 */
function answerStopped(op: ArmOperation, app: FunctionApp, res: ServerResponse, ctx: AzureContext): void {
  ctx.counters.record(op, "stopped");
  if (op === "arm:functions.listKeys" || op === "arm:host.listKeys") {
    sendJson(res, 400, webError("Unauthorized", "Encountered an error (Forbidden) from extensions API."));
    return;
  }
  sendJson(res, 404, webError("NotFound", `Error retrieving functions. The function host of site '${app.name}' is not running.`));
}

function notFound(res: ServerResponse, op: ArmOperation, ctx: AzureContext, message: string, code = "ResourceNotFound"): void {
  ctx.counters.record(op, "notFound");
  sendJson(res, 404, armError(code, message));
}

function skipToken(url: URL): number {
  const n = Number(url.searchParams.get("$skiptoken") ?? "0");
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

type AuthResult = { principal: Principal } | { failure: { code: string; message: string } };

/** Verifies the bearer token as ARM does: our signature, lifetime, ARM audience, a known principal. */
function authenticate(req: IncomingMessage, ctx: AzureContext): AuthResult {
  const header = req.headers.authorization;
  if (header === undefined) return { failure: { code: "AuthenticationFailed", message: "Authentication failed. The 'Authorization' header is missing." } };
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) return { failure: { code: "AuthenticationFailed", message: "Authentication failed. The 'Authorization' header is provided in an invalid format." } };
  const invalid = (message: string): AuthResult => ({ failure: { code: "InvalidAuthenticationToken", message } });
  const jwt = decodeJwt(match[1]);
  if (!jwt || jwt.header.alg !== "RS256") return invalid("The access token is invalid.");
  if (jwt.header.kid !== ctx.signingKey.kid || !verifyJwtSignature(jwt, ctx.signingKey.publicKey)) return invalid("The access token has an invalid signature.");
  const { exp, nbf, aud, tid, appid } = jwt.claims;
  const nowSeconds = emulatorNow(ctx) / 1000;
  if (typeof exp !== "number" || exp <= nowSeconds) return invalid("The access token expiry UTC time is earlier than current UTC time.");
  if (typeof nbf === "number" && nbf > nowSeconds + TOKEN_SKEW_SECONDS) return invalid("The access token is not yet valid.");
  if (typeof aud !== "string" || !isArmResource(aud, ctx)) {
    return invalid(`The access token has been obtained for wrong audience or resource '${typeof aud === "string" ? aud : ""}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.azure.com/'.`);
  }
  const principal = typeof tid === "string" && typeof appid === "string" ? ctx.directory.getPrincipal(tid, appid) : undefined;
  if (!principal) return invalid("The access token is from a principal that no longer exists.");
  return { principal };
}
