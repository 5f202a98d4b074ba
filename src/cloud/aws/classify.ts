// Maps AWS SDK errors (STS, Lambda, network) to reasons: permanent verdicts about credentials, or transient faults.
import type { Reason } from "../../model/reasons.js";
import { classifiedCallError, networkCodes, retryAfterMs } from "../shared/classify-helpers.js";
import { CloudCallError } from "../shared/call-error.js";
import { ambientAssumeRoleRefusal } from "./assume-role-denial.js";
import { describeSkew, measuredSkewMs, SKEW_THRESHOLD_MS, type SigningClock } from "./clock-skew.js";
import { readSdkAnswer, type SdkAnswer } from "./sdk-answer.js";

/** Error codes by reason; the SDK puts the AWS error code in `name`. */
const BY_CODE: Record<string, Reason> = {
  InvalidClientTokenId: "InvalidAccessKey",
  UnrecognizedClientException: "InvalidAccessKey",
  MissingAuthenticationToken: "InvalidAccessKey",
  MissingAuthenticationTokenException: "InvalidAccessKey",
  SignatureDoesNotMatch: "InvalidSecretKey",
  InvalidSignatureException: "InvalidSecretKey",
  ExpiredToken: "ExpiredSessionToken",
  ExpiredTokenException: "ExpiredSessionToken",
  // Codes that only ever mean the request's time is outside AWS's window.
  RequestExpired: "ClockSkew",
  RequestTimeTooSkewed: "ClockSkew",
  RequestInTheFuture: "ClockSkew",
  Throttling: "Throttled",
  ThrottlingException: "Throttled",
  TooManyRequestsException: "Throttled",
  RequestLimitExceeded: "Throttled",
  InternalFailure: "ProviderUnavailable",
  InternalError: "ProviderUnavailable",
  ServiceException: "ProviderUnavailable",
  ServiceUnavailable: "ProviderUnavailable",
  ServiceUnavailableException: "ProviderUnavailable",
  TimeoutError: "Timeout",
  AbortError: "Timeout",
  RequestTimeout: "Timeout",
  RequestTimeoutException: "Timeout",
};

/** Signature refusals: a wrong secret, or a signing time AWS will not accept — the Date header tells which. */
const SIGNATURE_CODES = new Set(["SignatureDoesNotMatch", "InvalidSignatureException"]);
/** "The security token included in the request is invalid": the key id, or the session token sent with it. */
const TOKEN_CODES = new Set(["InvalidClientTokenId", "UnrecognizedClientException"]);
/** "The security token included in the request is expired". */
const EXPIRED_CODES = new Set(["ExpiredToken", "ExpiredTokenException"]);
/** Every refusal of the credentials themselves; with the broker's own credentials, or a session it assumed, none is about an upstream. */
const CREDENTIAL_CODES = new Set([...SIGNATURE_CODES, ...TOKEN_CODES, ...EXPIRED_CODES, "MissingAuthenticationToken", "MissingAuthenticationTokenException"]);

const NETWORK_CODES = networkCodes("UND_ERR_SOCKET");

/**
 * Whose credentials signed a call: an upstream's long-term keys, an upstream's temporary keys
 * (with a session token), the broker's own (ambient), or a session credbroker assumed for a role.
 */
export type AwsSigner = "keys" | "sessionKeys" | "ambient" | "assumedRole";

/** What the caller knows about a call beyond its error; without it the classifier reads the error alone. */
export interface AwsCallFacts extends SigningClock {
  signer: AwsSigner;
}

const FOREIGN_ANSWER = "the answer is not from AWS (a proxy or firewall in between?)";

/**
 * Classifies one failed AWS call. Pure.
 *
 * - No HTTP answer: Timeout or ProviderUnavailable by socket code.
 * - An answer AWS did not write (HTML, unparseable, no error code; see readSdkAnswer): whatever
 *   its status, it says nothing about the credentials — 429 is Throttled, everything else
 *   (401, 403, 5xx, even 200) ProviderUnavailable, with our own sentence instead of the body.
 * - A signature refusal whose answer's Date is ≥ 5 minutes from the signing clock, or a code that
 *   only means time (RequestExpired, RequestTimeTooSkewed): ClockSkew, transient.
 * - A refusal of the broker's own (ambient) credentials: BrokerNotAuthorized, transient.
 * - A refusal of a role session credbroker assumed itself: ProviderUnavailable, transient (see
 *   assumedSessionRefusal); the provider drops the session so the next attempt assumes the role again.
 * - An invalid-token refusal of credentials that carry a session token: InvalidSessionToken.
 * - AccessDenied on AssumeRole is `AssumeRoleDenied`, AccessDeniedException on a Lambda list is
 *   `DiscoveryDenied`; both permanent. With the broker's own credentials, AssumeRole's refusal is
 *   judged by ambientAssumeRoleRefusal (a trust policy: still the verdict, naming the identity).
 * - Unknown 4xx codes are `InternalError` (transient) so a misunderstanding never rejects an upstream.
 */
export function classifyAwsError(err: unknown, operation: string, secrets: readonly string[], facts?: AwsCallFacts): CloudCallError {
  const a = readSdkAnswer(err);
  const network = a.sysCode !== undefined && NETWORK_CODES.has(a.sysCode);
  // Delay-seconds only, as this classifier has always read it (no HTTP-date).
  const wait = retryAfterMs(a.headers.get("retry-after"));
  const base = { provider: "aws" as const, operation, status: a.status, secrets, retryAfterMs: wait };
  if (network && a.sysCode !== undefined) {
    // A dropped connection can surface under a timeout-ish name; the socket's own code says what happened.
    return classifiedCallError({ ...base, reason: a.sysCode === "ETIMEDOUT" ? "Timeout" : "ProviderUnavailable", code: a.sysCode, message: a.message });
  }
  if (a.foreign) return classifiedCallError({ ...base, reason: a.status === 429 ? "Throttled" : "ProviderUnavailable", code: undefined, message: FOREIGN_ANSWER });
  const special = credentialRefusal(a, operation, facts);
  if (special !== undefined) return classifiedCallError({ ...base, reason: special.reason, code: a.name, message: special.message });
  return classifiedCallError({ ...base, reason: reasonOf(a, operation), code: a.name, message: a.message });
}

/** The refusals whose meaning depends on how the call was signed and on the answer's time; undefined: the code decides. */
function credentialRefusal(a: SdkAnswer, operation: string, facts: AwsCallFacts | undefined): { reason: Reason; message: string } | undefined {
  if (BY_CODE[a.name] === "ClockSkew") return { reason: "ClockSkew", message: describeSkew(measuredSkewMs(a.headers, facts)) };
  if (SIGNATURE_CODES.has(a.name)) {
    const skew = measuredSkewMs(a.headers, facts);
    if (skew !== undefined && Math.abs(skew) >= SKEW_THRESHOLD_MS) return { reason: "ClockSkew", message: describeSkew(skew) };
  }
  if (facts?.signer === "ambient" && operation.endsWith("AssumeRole") && a.name === "AccessDenied") return ambientAssumeRoleRefusal(a.message);
  if (!CREDENTIAL_CODES.has(a.name)) return undefined;
  if (facts?.signer === "assumedRole") return { reason: "ProviderUnavailable", message: assumedSessionRefusal(a.name) };
  if (facts?.signer === "ambient") {
    return { reason: "BrokerNotAuthorized", message: `the broker's own AWS credentials (aws.allowAmbientCredentials) were not accepted: ${a.message}` };
  }
  if (facts?.signer === "sessionKeys" && TOKEN_CODES.has(a.name)) {
    // AWS gives the same answer for an unknown key id and for a session token that is not its own: name both.
    return { reason: "InvalidSessionToken", message: "the session token (sessionToken), or the access key id it belongs to, was not accepted" };
  }
  return undefined;
}

/**
 * Why AWS refusing a session credbroker assumed is not a verdict: when AWS issued the session, it
 * had accepted the upstream's keys (or the broker's) and the role's trust — everything the
 * upstream owns was judged then. A session key AWS does not recognise is one it has not yet
 * propagated or has revoked; an expired one outlived its hour during a long discovery (or the
 * broker misjudged AWS's clock). Neither says anything about the upstream, and both are cured by
 * assuming the role again — so the reason is ProviderUnavailable: AWS could not serve the call
 * with the session it issued, and a retry with a fresh session is expected to succeed. ClockSkew
 * would blame the node's clock, which an unpropagated or revoked session does not involve.
 */
function assumedSessionRefusal(code: string): string {
  const what = EXPIRED_CODES.has(code)
    ? "expired before the call"
    : TOKEN_CODES.has(code)
      ? "was not accepted (not yet propagated, or revoked)"
      : "was refused";
  return `the role session credbroker assumed for spec.aws.roleArn ${what}; it is dropped and the role assumed again on the next attempt`;
}

/**
 * Whether `err` is AWS refusing the credentials a call was signed with (any code of
 * CREDENTIAL_CODES, signature mismatches included; the clock codes such as RequestExpired are not,
 * since a session refused for the clock is still good): for a session credbroker assumed, the
 * session is then not worth keeping. Pure.
 */
export function refusesCredentials(err: unknown): boolean {
  return err instanceof CloudCallError && err.code !== undefined && CREDENTIAL_CODES.has(err.code);
}

function reasonOf(a: SdkAnswer, operation: string): Reason {
  if (a.name === "AccessDenied" || a.name === "AccessDeniedException") {
    return operation.endsWith("AssumeRole") ? "AssumeRoleDenied" : operation.startsWith("lambda:") ? "DiscoveryDenied" : "InternalError";
  }
  const byCode = BY_CODE[a.name];
  if (byCode !== undefined) return byCode;
  if (a.status === 429) return "Throttled";
  if (a.status !== undefined && a.status >= 500) return "ProviderUnavailable";
  // No HTTP answer at all: connection-level failure.
  if (a.status === undefined) return "ProviderUnavailable";
  return "InternalError";
}
