// STS over the AWS query protocol: GetCallerIdentity and AssumeRole, answered in STS's XML with its error shapes.
import type { ServerResponse } from "node:http";
import { answerFault } from "../common/faults.js";
import { sendText } from "../common/http-server.js";
import { authenticate, INVALID_TOKEN_MESSAGE, type AuthFailure } from "./authenticate.js";
import { awsOutcomeOf, type AwsOutcome } from "./aws-counters.js";
import { claimedCaller, type AwsContext } from "./context.js";
import type { Principal } from "./iam.js";
import { newRequestId } from "./keys.js";
import { stsOperationOf, type StsOperation } from "./operations.js";
import { header, parseQuery, type WireRequest } from "./sigv4.js";

export const STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";

interface StsError {
  status: number;
  type: "Sender" | "Receiver";
  code: string;
  message: string;
}

const AUTH_ERRORS: Record<AuthFailure, Omit<StsError, "message">> = {
  missingAuthentication: { status: 403, type: "Sender", code: "MissingAuthenticationToken" },
  incompleteSignature: { status: 400, type: "Sender", code: "IncompleteSignature" },
  invalidClientTokenId: { status: 403, type: "Sender", code: "InvalidClientTokenId" },
  signatureDoesNotMatch: { status: 403, type: "Sender", code: "SignatureDoesNotMatch" },
  signatureExpired: { status: 403, type: "Sender", code: "SignatureDoesNotMatch" },
  expiredToken: { status: 400, type: "Sender", code: "ExpiredToken" },
};

export function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] ?? c);
}

/** AWS's ISO-8601 form without milliseconds, e.g. `2026-01-01T01:00:00Z`. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The query protocol's parameters: from the query string and, for a form POST, from the body. */
export function stsParameters(req: WireRequest): Map<string, string> {
  const params = new Map(parseQuery(req.rawQuery));
  const contentType = header(req, "content-type") ?? "";
  if (req.method === "POST" && contentType.startsWith("application/x-www-form-urlencoded")) {
    // Forms use `+` for spaces, unlike SigV4 query canonicalisation, so URLSearchParams is right here.
    for (const [k, v] of new URLSearchParams(req.body.toString("utf8"))) params.set(k, v);
  }
  return params;
}

function sendStsXml(res: ServerResponse, status: number, xml: string, requestId: string): void {
  sendText(res, status, `<?xml version="1.0" encoding="UTF-8"?>\n${xml}\n`, "text/xml", { "x-amzn-RequestId": requestId });
}

function sendStsError(res: ServerResponse, error: StsError, requestId: string): void {
  const xml =
    `<ErrorResponse xmlns="${STS_NAMESPACE}">\n  <Error>\n    <Type>${error.type}</Type>\n    <Code>${error.code}</Code>\n` +
    `    <Message>${escapeXml(error.message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>`;
  sendStsXml(res, error.status, xml, requestId);
}

function sendStsResult(res: ServerResponse, action: string, resultXml: string, requestId: string): void {
  const xml =
    `<${action}Response xmlns="${STS_NAMESPACE}">\n  <${action}Result>\n${resultXml}  </${action}Result>\n` +
    `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>`;
  sendStsXml(res, 200, xml, requestId);
}

function callerIdentityXml(principal: Principal): string {
  return `    <Arn>${escapeXml(principal.arn)}</Arn>\n    <UserId>${escapeXml(principal.userId)}</UserId>\n    <Account>${principal.accountId}</Account>\n`;
}

/**
 * An injected refusal as STS words it. STS never answers 401: a credential it does not accept is
 * 403 InvalidClientTokenId, which is what 401 maps to (and what any refusal is when the key is
 * unknown, as AWS checks the key before any permission). 403 is AccessDenied naming the caller,
 * as AssumeRole's own refusal does; AWS never refuses GetCallerIdentity so (it needs no
 * permission), which the emulator does on request anyway, naming resource `*`.
 */
function injectedDenial(status: 401 | 403, operation: StsOperation, caller: Principal | undefined, params: Map<string, string>): StsError {
  if (status === 401 || caller === undefined) return { ...AUTH_ERRORS.invalidClientTokenId, message: INVALID_TOKEN_MESSAGE };
  const resource = operation === "sts:AssumeRole" ? (params.get("RoleArn") ?? "*") : "*";
  return { status: 403, type: "Sender", code: "AccessDenied", message: `User: ${caller.arn} is not authorized to perform: ${operation} on resource: ${resource.slice(0, 2048)}` };
}

type ActionResult = { outcome: AwsOutcome } & ({ result: string } | { error: StsError });

function assumeRole(ctx: AwsContext, caller: Principal, params: Map<string, string>): ActionResult {
  const roleArn = params.get("RoleArn");
  const sessionName = params.get("RoleSessionName");
  const missing = roleArn === undefined ? "roleArn" : sessionName === undefined ? "roleSessionName" : undefined;
  if (missing !== undefined || roleArn === undefined || sessionName === undefined) {
    const message = `1 validation error detected: Value null at '${missing ?? "roleArn"}' failed to satisfy constraint: Member must not be null`;
    return { outcome: "error", error: { status: 400, type: "Sender", code: "ValidationError", message } };
  }
  const durationText = params.get("DurationSeconds");
  const duration = durationText === undefined ? undefined : Number(durationText);
  if (duration !== undefined && !Number.isInteger(duration)) {
    return { outcome: "error", error: { status: 400, type: "Sender", code: "ValidationError", message: "DurationSeconds must be an integer" } };
  }
  const assumed = ctx.iam.assumeRole(caller, roleArn, sessionName, duration, ctx.clock());
  switch (assumed.kind) {
    case "denied":
      return { outcome: "denied", error: { status: 403, type: "Sender", code: "AccessDenied", message: assumed.message } };
    case "invalid":
      return { outcome: "error", error: { status: 400, type: "Sender", code: "ValidationError", message: assumed.message } };
    case "ok": {
      const { credentials, principal } = assumed;
      const result =
        `    <AssumedRoleUser>\n      <AssumedRoleId>${escapeXml(principal.userId)}</AssumedRoleId>\n      <Arn>${escapeXml(principal.arn)}</Arn>\n    </AssumedRoleUser>\n` +
        `    <Credentials>\n      <AccessKeyId>${credentials.accessKeyId}</AccessKeyId>\n      <SecretAccessKey>${escapeXml(credentials.secretAccessKey)}</SecretAccessKey>\n` +
        `      <SessionToken>${escapeXml(credentials.sessionToken)}</SessionToken>\n      <Expiration>${isoSeconds(credentials.expiresAtMs)}</Expiration>\n    </Credentials>\n`;
      return { outcome: "ok", result };
    }
  }
}

/**
 * Serves one STS request: faults first (as a failing AWS front end would answer before
 * authenticating), then SigV4, then the action. Records every call in the counters.
 */
export async function handleSts(ctx: AwsContext, req: WireRequest, res: ServerResponse): Promise<void> {
  const requestId = newRequestId();
  const params = stsParameters(req);
  const action = params.get("Action") ?? "";
  const operation = stsOperationOf(action);
  const claimed = claimedCaller(ctx, req);
  const faulted = await answerFault(ctx.faults, operation, res, {
    record: (outcome) => ctx.counters.recordScoped(operation, awsOutcomeOf(outcome), claimed.accountId, claimed.region),
    throttled: () => sendStsError(res, { status: 400, type: "Sender", code: "Throttling", message: "Rate exceeded" }, requestId),
    failed: () => sendStsError(res, { status: 500, type: "Receiver", code: "InternalFailure", message: "An internal error has occurred" }, requestId),
    denied: (status) => sendStsError(res, injectedDenial(status, operation, claimed.principal, params), requestId),
  });
  if (faulted) return;
  const auth = authenticate(req, ctx.iam, ctx.clock());
  if (!auth.ok) {
    ctx.counters.recordScoped(operation, "denied", claimed.accountId, claimed.region);
    sendStsError(res, { ...AUTH_ERRORS[auth.failure], message: auth.message }, requestId);
    return;
  }
  const { principal, params: signature } = auth;
  let result: ActionResult;
  if (action === "GetCallerIdentity") result = { outcome: "ok", result: callerIdentityXml(principal) };
  else if (action === "AssumeRole") result = assumeRole(ctx, principal, params);
  else {
    const message = `Could not find operation ${action.slice(0, 64)} for version ${params.get("Version") ?? "NO_VERSION_SPECIFIED"}`;
    result = { outcome: "error", error: { status: 400, type: "Sender", code: "InvalidAction", message } };
  }
  ctx.counters.recordScoped(operation, result.outcome, principal.accountId, signature.region);
  if ("error" in result) sendStsError(res, result.error, requestId);
  else sendStsResult(res, action, result.result, requestId);
}
