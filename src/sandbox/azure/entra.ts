// Entra ID routes: OpenID configuration, signing keys, instance discovery and the client-credentials token endpoint.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { answerFault } from "../common/faults.js";
import { sendJson } from "../common/http-server.js";
import { emulatorNow, isArmResource, requestOrigin, type AzureContext } from "./context.js";
import type { Principal } from "./directory.js";
import { AADSTS, entraError, type EntraError } from "./entra-errors.js";
import { decodeJwt, publicJwk, signJwt, verifyJwtSignature } from "./jwt.js";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** Entra ID tolerates this much clock skew on assertion `nbf`, in seconds. */
const ASSERTION_SKEW_SECONDS = 300;

/** Every Entra operation the emulator serves: fault settings may name only these. */
export const ENTRA_OPERATIONS = ["entra:openidConfiguration", "entra:keys", "entra:instanceDiscovery", "entra:token"] as const;

type EntraOperation = (typeof ENTRA_OPERATIONS)[number];

interface EntraRoute {
  operation: EntraOperation;
  tenant: string;
}

/** Maps a path to an Entra route; undefined for paths that are not Entra's. */
function matchRoute(method: string, path: string): EntraRoute | undefined {
  const segments = path.split("/").filter((s) => s.length > 0);
  const [tenant = "", ...rest] = segments.map((s) => decodeURIComponent(s));
  const tail = rest.join("/");
  if (method === "GET" && tenant === "common" && tail === "discovery/instance") return { operation: "entra:instanceDiscovery", tenant };
  if (method === "GET" && (tail === "v2.0/.well-known/openid-configuration" || tail === ".well-known/openid-configuration"))
    return { operation: "entra:openidConfiguration", tenant };
  if (method === "GET" && (tail === "discovery/v2.0/keys" || tail === "discovery/keys")) return { operation: "entra:keys", tenant };
  if (method === "POST" && tail === "oauth2/v2.0/token") return { operation: "entra:token", tenant };
  return undefined;
}

function sendEntraError(res: ServerResponse, err: EntraError, nowMs: number, headers: Record<string, string> = {}): void {
  sendJson(res, err.status, err.body, { "x-ms-request-id": err.body.trace_id, "cache-control": "no-store, no-cache", date: new Date(nowMs).toUTCString(), ...headers });
}

/** The OpenID configuration document of `tenant`, every endpoint pointing back at this emulator. */
function openidConfiguration(origin: string, tenant: string): Record<string, unknown> {
  const base = `${origin}/${tenant}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${origin}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "azp", "appid"],
    tenant_region_scope: "EU",
    cloud_instance_name: "sandbox.local",
  };
}

/**
 * Serves an Entra ID request. Returns false when the path is not an Entra route (the caller
 * then tries ARM); otherwise answers it, applying faults and counting it under its operation.
 */
export async function handleEntra(req: IncomingMessage, res: ServerResponse, body: Buffer, ctx: AzureContext): Promise<boolean> {
  const url = new URL(req.url ?? "/", "https://emulator.invalid");
  const route = matchRoute(req.method ?? "GET", url.pathname);
  if (!route) return false;
  const origin = requestOrigin(req, ctx);
  // MSAL sends its correlation id as the `client-request-id` query parameter; Entra echoes either form.
  const correlationId = headerValue(req, "client-request-id") ?? url.searchParams.get("client-request-id") ?? randomUUID();
  const now = emulatorNow(ctx);
  const reply = (status: number, error: string, [code, message]: [number, string], headers: Record<string, string> = {}): void =>
    sendEntraError(res, entraError(status, error, code, message, origin, now, correlationId), now, headers);

  const faulted = await answerFault(ctx.faults, route.operation, res, {
    record: (outcome) => ctx.counters.record(route.operation, outcome),
    // As the identity platform answers them: 429 TenantThrottlingError with Retry-After, 500 TokenIssuanceError, 503 MSODS unavailable.
    throttled: (retryAfterSeconds) => reply(429, "temporarily_unavailable", AADSTS.tenantThrottled(), { "retry-after": String(ctx.faultShapes.retryAfterSeconds ?? retryAfterSeconds) }),
    failed: () => (ctx.faultShapes.entraServerErrorStatus === 503 ? reply(503, "temporarily_unavailable", AADSTS.transient()) : reply(500, "server_error", AADSTS.tokenIssuance())),
    denied: (status) => (status === 401 ? reply(401, "invalid_client", AADSTS.invalidSecret(clientIdOf(body))) : reply(403, "unauthorized_client", AADSTS.appDisabled(clientIdOf(body)))),
  });
  if (faulted) return true;

  switch (route.operation) {
    case "entra:instanceDiscovery":
      ctx.counters.record(route.operation);
      sendJson(res, 200, instanceDiscovery(origin, url));
      return true;
    case "entra:openidConfiguration":
    case "entra:keys":
      // Entra answers discovery for a tenant it does not know with 400 invalid_tenant AADSTS90002.
      // Against the public clouds MSAL never asks (it knows their endpoints) and meets AADSTS90002 at
      // the token endpoint instead; for any other authority it asks first and reports only
      // `endpoints_resolution_error`, which credbroker then explains by asking once more.
      if (!ctx.directory.hasTenant(route.tenant)) {
        ctx.counters.record(route.operation, "denied");
        reply(400, "invalid_tenant", AADSTS.tenantNotFound(route.tenant));
        return true;
      }
      ctx.counters.record(route.operation);
      sendJson(
        res,
        200,
        route.operation === "entra:keys"
          ? { keys: [publicJwk(ctx.signingKey.publicKeyPem, ctx.signingKey.kid, ctx.signingKey.certificatePem)] }
          : openidConfiguration(origin, route.tenant),
        { date: new Date(now).toUTCString() },
      );
      return true;
    case "entra:token": {
      const outcome = issueToken(route.tenant, new URLSearchParams(body.toString("utf8")), origin, ctx, correlationId, now);
      if ("error" in outcome) {
        ctx.counters.record(route.operation, "denied");
        sendEntraError(res, outcome.error, now);
      } else {
        ctx.counters.record(route.operation);
        sendJson(res, 200, outcome.token, { "cache-control": "no-store, no-cache", pragma: "no-cache", date: new Date(now).toUTCString() });
      }
      return true;
    }
  }
}

/** The form's client_id, for the wording of an injected refusal. */
function clientIdOf(body: Buffer): string {
  return new URLSearchParams(body.toString("utf8")).get("client_id") ?? "";
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Answer of `/common/discovery/instance`: this host is its own only alias. */
function instanceDiscovery(origin: string, url: URL): Record<string, unknown> {
  const host = new URL(origin).host;
  const authorization = url.searchParams.get("authorization_endpoint") ?? `${origin}/common/oauth2/v2.0/authorize`;
  const tenant = new URL(authorization, origin).pathname.split("/")[1] ?? "common";
  return {
    tenant_discovery_endpoint: `${origin}/${tenant}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}

type TokenOutcome = { token: Record<string, unknown> } | { error: EntraError };

/**
 * Validates a client-credentials request and mints an ARM access token. `now` is the emulator's
 * (possibly offset) clock: assertion times are checked against it and token times stamped with
 * it, while `expires_in` stays the configured lifetime. Pure.
 */
function issueToken(tenant: string, form: URLSearchParams, origin: string, ctx: AzureContext, correlationId: string, now: number): TokenOutcome {
  const fail = (status: number, error: string, [code, message]: [number, string]): TokenOutcome => ({
    error: entraError(status, error, code, message, origin, now, correlationId),
  });
  if (!ctx.directory.hasTenant(tenant)) return fail(400, "invalid_request", AADSTS.tenantNotFound(tenant));
  const grantType = form.get("grant_type");
  if (grantType === null) return fail(400, "invalid_request", AADSTS.missingParameter("grant_type"));
  if (grantType !== "client_credentials") return fail(400, "unsupported_grant_type", AADSTS.unsupportedGrant(grantType));
  const clientId = form.get("client_id");
  if (clientId === null || clientId === "") return fail(400, "invalid_request", AADSTS.missingParameter("client_id"));
  const scope = form.get("scope");
  if (scope === null) return fail(400, "invalid_request", AADSTS.missingParameter("scope"));
  // MSAL may add OIDC scopes; for client credentials only the `/.default` one matters.
  const resourceScope = scope.split(/\s+/).find((s) => s.endsWith("/.default"));
  if (resourceScope === undefined) return fail(400, "invalid_scope", AADSTS.invalidScope(scope));
  const principal = ctx.directory.getPrincipal(tenant, clientId);
  if (!principal) return fail(400, "unauthorized_client", AADSTS.appNotFound(clientId, tenant));

  const secret = form.get("client_secret");
  const assertion = form.get("client_assertion");
  if (secret !== null) {
    if (!principal.secrets.has(secret)) return fail(401, "invalid_client", AADSTS.invalidSecret(clientId));
  } else if (assertion !== null && form.get("client_assertion_type") === JWT_BEARER) {
    const problem = checkAssertion(assertion, principal, tenant, origin, ctx, now);
    if (problem) return fail(401, "invalid_client", problem);
  } else return fail(401, "invalid_client", AADSTS.credentialMissing());

  const resource = resourceScope.slice(0, -"/.default".length);
  if (!isArmResource(resource, ctx)) return fail(400, "invalid_resource", AADSTS.resourceNotFound(resource, tenant));

  const iat = Math.floor(now / 1000);
  const lifetime = ctx.tokenLifetimeSeconds;
  const claims = {
    aud: resource,
    iss: `${origin}/${principal.tenantId}/v2.0`,
    iat,
    nbf: iat,
    exp: iat + lifetime,
    tid: principal.tenantId,
    appid: principal.clientId,
    azp: principal.clientId,
    oid: principal.objectId,
    sub: principal.objectId,
    idtyp: "app",
    ver: "2.0",
    uti: randomUUID(),
  };
  const accessToken = signJwt(claims, ctx.signingKey.privateKeyPem, { kid: ctx.signingKey.kid, x5t: ctx.signingKey.kid });
  return { token: { token_type: "Bearer", expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken } };
}

/** Checks a client assertion as Entra ID does; returns the AADSTS code and message of the first problem, or undefined. */
function checkAssertion(assertion: string, principal: Principal, tenant: string, origin: string, ctx: AzureContext, nowMs: number): [number, string] | undefined {
  const jwt = decodeJwt(assertion);
  if (!jwt) return AADSTS.assertionInvalid("The client assertion is not a well-formed JWT.");
  const x5tS256 = jwt.header["x5t#S256"];
  const x5t = jwt.header.x5t;
  const cert = principal.certificates.find((c) => (typeof x5tS256 === "string" ? c.x5tS256 === x5tS256 : c.x5t === x5t));
  if (!cert) {
    const used = typeof x5tS256 === "string" ? x5tS256 : typeof x5t === "string" ? x5t : "";
    const hex = Buffer.from(used, "base64url").toString("hex").toUpperCase();
    return AADSTS.assertionInvalid(`The key was not found., Thumbprint of key used by client: '${hex}'`);
  }
  if (!verifyJwtSignature(jwt, cert.publicKey)) return AADSTS.assertionInvalid("The signature is invalid.");
  const { iss, sub, aud, exp, nbf } = jwt.claims;
  if (iss !== principal.clientId || sub !== principal.clientId) return AADSTS.assertionClientMismatch();
  const nowSeconds = nowMs / 1000;
  if (typeof exp !== "number" || exp <= nowSeconds) return AADSTS.assertionExpired();
  if (typeof nbf === "number" && nbf > nowSeconds + ASSERTION_SKEW_SECONDS) return AADSTS.assertionExpired();
  const audiences = new Set([origin, ctx.url()].map((o) => `${o}/${tenant}/oauth2/v2.0/token`.toLowerCase()));
  if (typeof aud !== "string" || !audiences.has(aud.toLowerCase())) return AADSTS.assertionInvalid("The audience claim does not name this token endpoint.");
  return undefined;
}
