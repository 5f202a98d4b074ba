// Lambda's REST JSON control plane: ListFunctions, ListVersionsByFunction, ListAliases and GetFunction, with quota and errors.
import type { ServerResponse } from "node:http";
import { answerFault } from "../common/faults.js";
import { sendJson } from "../common/http-server.js";
import { authenticate, INVALID_TOKEN_MESSAGE, type AuthFailure } from "./authenticate.js";
import { awsOutcomeOf, type AwsOutcome } from "./aws-counters.js";
import { claimedCaller, type AwsContext } from "./context.js";
import { InvalidMarkerError, type LambdaFunction } from "./functions.js";
import { allowsLambdaList, type Principal } from "./iam.js";
import { newRequestId } from "./keys.js";
import { aliasConfiguration, functionArn, functionConfiguration } from "./lambda-shapes.js";
import type { LambdaOperation } from "./operations.js";
import { parseQuery, type WireRequest } from "./sigv4.js";

export const LAMBDA_API_PREFIX = "/2015-03-31/functions";
/** Lambda returns at most 50 items per list page whatever MaxItems asks for. */
const MAX_PAGE = 50;

type FunctionOperation = Exclude<LambdaOperation, "lambda:ListFunctions" | "lambda:Unknown">;

/** An operation and, for per-function ones, the decoded `{FunctionName}` path label. */
type Route = { operation: "lambda:ListFunctions" } | { operation: "lambda:Unknown" } | { operation: FunctionOperation; functionRef: string };

interface FunctionRef {
  name: string;
  accountId?: string;
  region?: string;
  qualifier?: string;
}

interface LambdaError {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
  extra?: Record<string, string>;
}

type Answer = { outcome: AwsOutcome } & ({ body: unknown } | { error: LambdaError });

const AUTH_ERRORS: Record<AuthFailure, string> = {
  missingAuthentication: "MissingAuthenticationTokenException",
  incompleteSignature: "IncompleteSignatureException",
  invalidClientTokenId: "UnrecognizedClientException",
  signatureDoesNotMatch: "InvalidSignatureException",
  signatureExpired: "InvalidSignatureException",
  expiredToken: "ExpiredTokenException",
};

const FUNCTION_REF = /^(?:(?:arn:aws[\w-]*:lambda:([a-z0-9-]+):)?(\d{12}):function:)?([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/;

/** Maps method and path to an operation; the path label is decoded once, as the SDK encoded it once. */
export function routeLambda(req: WireRequest): Route {
  if (req.method !== "GET" || (req.rawPath !== LAMBDA_API_PREFIX && !req.rawPath.startsWith(`${LAMBDA_API_PREFIX}/`))) return { operation: "lambda:Unknown" };
  const rest = req.rawPath.slice(LAMBDA_API_PREFIX.length + 1).split("/");
  if (rest.length === 1 && rest[0] === "") return { operation: "lambda:ListFunctions" };
  let functionRef: string;
  try {
    functionRef = decodeURIComponent(rest[0] ?? "");
  } catch {
    return { operation: "lambda:Unknown" };
  }
  if (rest.length === 1) return { operation: "lambda:GetFunction", functionRef };
  if (rest.length === 2 && rest[1] === "versions") return { operation: "lambda:ListVersionsByFunction", functionRef };
  if (rest.length === 2 && rest[1] === "aliases") return { operation: "lambda:ListAliases", functionRef };
  return { operation: "lambda:Unknown" };
}

function parseFunctionRef(text: string): FunctionRef | undefined {
  const m = FUNCTION_REF.exec(text);
  if (!m) return undefined;
  const [, region, accountId, name = "", qualifier] = m;
  return { name, ...(region === undefined ? {} : { region }), ...(accountId === undefined ? {} : { accountId }), ...(qualifier === undefined ? {} : { qualifier }) };
}

function sendLambdaError(res: ServerResponse, error: LambdaError, requestId: string): void {
  const body = { ...error.extra, Type: error.status >= 500 ? "Service" : "User", message: error.message };
  sendJson(res, error.status, body, { "x-amzn-ErrorType": error.code, "x-amzn-RequestId": requestId, ...error.headers });
}

/** Lambda's identity-policy refusal, naming caller, action and resource as AWS does. */
function accessDenied(callerArn: string, action: LambdaOperation, resource: string): LambdaError {
  const message = `User: ${callerArn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
  return { status: 403, code: "AccessDeniedException", message };
}

/** The ARN a request is about: the function its path names (in the caller's account and region unless the ARN says otherwise), else `*`. */
function resourceOf(route: Route, principal: Principal, region: string): string {
  if (route.operation === "lambda:ListFunctions" || route.operation === "lambda:Unknown") return "*";
  const ref = parseFunctionRef(route.functionRef);
  return ref ? functionArn({ accountId: ref.accountId ?? principal.accountId, region: ref.region ?? region, name: ref.name }) : "*";
}

/**
 * An injected refusal as Lambda words it. Lambda never answers 401: a credential it does not
 * accept is 403 UnrecognizedClientException, which is what 401 maps to (and what any refusal is
 * when the key is unknown). 403 is AccessDeniedException, as a missing identity policy gives.
 */
function injectedDenial(status: 401 | 403, route: Route, caller: Principal | undefined, region: string | undefined): LambdaError {
  if (status === 401 || caller === undefined) return { status: 403, code: AUTH_ERRORS.invalidClientTokenId, message: INVALID_TOKEN_MESSAGE };
  return accessDenied(caller.arn, route.operation, resourceOf(route, caller, region ?? "us-east-1"));
}

function validation(message: string): Answer {
  return { outcome: "error", error: { status: 400, code: "ValidationException", message: `1 validation error detected: ${message}` } };
}

function notFound(arn: string): Answer {
  return { outcome: "error", error: { status: 404, code: "ResourceNotFoundException", message: `Function not found: ${arn}` } };
}

/** The page size asked for, capped at Lambda's 50; or a validation answer. */
function pageSize(query: Map<string, string>): number | Answer {
  const text = query.get("MaxItems");
  if (text === undefined || text === "") return MAX_PAGE;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) return validation(`Value '${text.slice(0, 20)}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000`);
  return Math.min(n, MAX_PAGE);
}

function marker(query: Map<string, string>): { marker?: string } {
  const m = query.get("Marker");
  return m === undefined || m === "" ? {} : { marker: m };
}

function listFunctions(ctx: AwsContext, principal: Principal, region: string, query: Map<string, string>, maxItems: number): Answer {
  const version = query.get("FunctionVersion");
  if (version !== undefined && version !== "ALL") return validation(`Value '${version.slice(0, 20)}' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]`);
  const page = ctx.functions.listFunctions(principal.accountId, region, { ...marker(query), maxItems, allVersions: version === "ALL" });
  return { outcome: "ok", body: { Functions: page.items.map((e) => functionConfiguration(e.fn, e.version, "versionsOnly")), NextMarker: page.nextMarker ?? null } };
}

/** An operation on one existing function. Throws InvalidMarkerError on a foreign marker. */
function functionOperation(ctx: AwsContext, operation: FunctionOperation, fn: LambdaFunction, ref: FunctionRef, query: Map<string, string>, maxItems: number): Answer {
  switch (operation) {
    case "lambda:ListVersionsByFunction": {
      const page = ctx.functions.listVersions(fn, { ...marker(query), maxItems });
      return { outcome: "ok", body: { Versions: page.items.map((e) => functionConfiguration(e.fn, e.version, "always")), NextMarker: page.nextMarker ?? null } };
    }
    case "lambda:ListAliases": {
      const functionVersion = query.get("FunctionVersion");
      const page = ctx.functions.listAliases(fn, { ...marker(query), maxItems, ...(functionVersion === undefined ? {} : { functionVersion }) });
      return { outcome: "ok", body: { Aliases: page.items.map((a) => aliasConfiguration(fn, a)), NextMarker: page.nextMarker ?? null } };
    }
    case "lambda:GetFunction": {
      const qualifier = query.get("Qualifier") ?? ref.qualifier ?? "$LATEST";
      const version = fn.aliases.find((a) => a.name === qualifier)?.functionVersion ?? qualifier;
      if (version !== "$LATEST" && !(/^\d+$/.test(version) && Number(version) >= 1 && Number(version) <= fn.versions)) return notFound(functionArn(fn, qualifier));
      return {
        outcome: "ok",
        body: { Configuration: functionConfiguration(fn, version, "versionsOnly"), Code: { RepositoryType: "S3", Location: "https://example.invalid/sandbox-code.zip" } },
      };
    }
  }
}

/** Authorisation, quota and function lookup after authentication; answers what the caller may see. */
function serve(ctx: AwsContext, route: Route, principal: Principal, region: string, query: Map<string, string>): Answer {
  if (route.operation === "lambda:Unknown") return { outcome: "error", error: { status: 404, code: "UnknownOperationException", message: "Unknown operation" } };
  // GetFunction has its own, larger quota in AWS; every other control-plane call shares this one.
  if (route.operation !== "lambda:GetFunction") {
    const taken = ctx.lambdaQuota.take(`${principal.accountId}/${region}`, ctx.clock());
    if (!taken.ok) {
      const error: LambdaError = {
        status: 429,
        code: "TooManyRequestsException",
        message: "Rate exceeded",
        headers: { "Retry-After": String(taken.retryAfterSeconds) },
        extra: { Reason: "CallerRateLimitExceeded" },
      };
      return { outcome: "throttled", error };
    }
  }
  let ref: FunctionRef | undefined;
  if (route.operation !== "lambda:ListFunctions") {
    ref = parseFunctionRef(route.functionRef);
    if (!ref) return validation(`Value '${route.functionRef.slice(0, 170)}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?`);
  }
  const resource = ref ? functionArn({ accountId: ref.accountId ?? principal.accountId, region: ref.region ?? region, name: ref.name }) : "*";
  const action = route.operation;
  // Cross-account access would need a resource-based policy, which the emulator does not model.
  if (!allowsLambdaList(principal.permissions, region) || (ref?.accountId !== undefined && ref.accountId !== principal.accountId)) {
    return { outcome: "denied", error: accessDenied(principal.arn, action, resource) };
  }
  const maxItems = pageSize(query);
  if (typeof maxItems !== "number") return maxItems;
  try {
    if (route.operation === "lambda:ListFunctions" || ref === undefined) return listFunctions(ctx, principal, region, query, maxItems);
    // An ARN naming another region than the endpoint's is not found there, as with a regional endpoint.
    const fn = ref.region === undefined || ref.region === region ? ctx.functions.get(principal.accountId, region, ref.name) : undefined;
    if (!fn) return notFound(resource);
    return functionOperation(ctx, route.operation, fn, ref, query, maxItems);
  } catch (err) {
    if (err instanceof InvalidMarkerError) return { outcome: "error", error: { status: 400, code: "InvalidParameterValueException", message: "Invalid Marker" } };
    throw err;
  }
}

/**
 * Serves one Lambda request: faults, SigV4, quota (per account and region), identity
 * permission, then the operation. Records every call in the counters.
 */
export async function handleLambda(ctx: AwsContext, req: WireRequest, res: ServerResponse): Promise<void> {
  const requestId = newRequestId();
  const route = routeLambda(req);
  const claimed = claimedCaller(ctx, req);
  const faulted = await answerFault(ctx.faults, route.operation, res, {
    record: (outcome) => ctx.counters.recordScoped(route.operation, awsOutcomeOf(outcome), claimed.accountId, claimed.region),
    throttled: (retryAfterSeconds) =>
      sendLambdaError(
        res,
        { status: 429, code: "TooManyRequestsException", message: "Rate exceeded", headers: { "Retry-After": String(retryAfterSeconds) }, extra: { Reason: "CallerRateLimitExceeded" } },
        requestId,
      ),
    failed: () => sendLambdaError(res, { status: 500, code: "ServiceException", message: "An internal error occurred. Retry the request." }, requestId),
    denied: (status) => sendLambdaError(res, injectedDenial(status, route, claimed.principal, claimed.region), requestId),
  });
  if (faulted) return;
  const auth = authenticate(req, ctx.iam, ctx.clock());
  if (!auth.ok) {
    ctx.counters.recordScoped(route.operation, "denied", claimed.accountId, claimed.region);
    sendLambdaError(res, { status: 403, code: AUTH_ERRORS[auth.failure], message: auth.message }, requestId);
    return;
  }
  const region = auth.params.region;
  const result = serve(ctx, route, auth.principal, region, new Map(parseQuery(req.rawQuery)));
  ctx.counters.recordScoped(route.operation, result.outcome, auth.principal.accountId, region);
  if ("error" in result) sendLambdaError(res, result.error, requestId);
  else sendJson(res, 200, result.body, { "x-amzn-RequestId": requestId });
}
