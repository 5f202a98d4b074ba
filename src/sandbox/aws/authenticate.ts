// Authenticates one request: SigV4 parameters, the access key and its session token, signature, expiry and clock skew.
import type { IamDirectory, Principal } from "./iam.js";
import { parseSigV4, verifySignature, verifySigningTime, type SigV4Params, type WireRequest } from "./sigv4.js";

/** Why authentication failed; each service turns these into its own error codes. */
export type AuthFailure = "missingAuthentication" | "incompleteSignature" | "invalidClientTokenId" | "signatureDoesNotMatch" | "signatureExpired" | "expiredToken";

export type AuthOutcome = { ok: true; principal: Principal; params: SigV4Params } | { ok: false; failure: AuthFailure; message: string };

export const INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid.";
export const EXPIRED_TOKEN_MESSAGE = "The security token included in the request is expired";

/**
 * Decides who sent `req` at emulator time `nowMs`. Pure apart from reading `iam`.
 *
 * Order matters and mirrors what a client can observe from AWS: an unknown or inactive key, or
 * a session token that is not the key's own, is an invalid token before any signature is
 * looked at; the signature math comes next; then session expiry, reported before clock skew so
 * a test can advance the emulator clock past a session's end without also tripping the
 * 15-minute signing window for the expiry it means to see.
 */
export function authenticate(req: WireRequest, iam: IamDirectory, nowMs: number): AuthOutcome {
  const parsed = parseSigV4(req);
  if (parsed.kind === "none") return { ok: false, failure: "missingAuthentication", message: "Request is missing Authentication Token" };
  if (parsed.kind === "malformed") return { ok: false, failure: "incompleteSignature", message: parsed.message };
  const { params } = parsed;
  const record = iam.lookupKey(params.accessKeyId);
  const invalid: AuthOutcome = { ok: false, failure: "invalidClientTokenId", message: INVALID_TOKEN_MESSAGE };
  if (!record?.active) return invalid;
  if (record.kind === "session" ? params.sessionToken !== record.sessionToken : params.sessionToken !== undefined) return invalid;
  const signature = verifySignature(req, params, record.secretAccessKey);
  if (!signature.ok) return { ok: false, failure: "signatureDoesNotMatch", message: signature.message };
  if (record.kind === "session" && nowMs >= record.expiresAtMs) return { ok: false, failure: "expiredToken", message: EXPIRED_TOKEN_MESSAGE };
  const time = verifySigningTime(params, nowMs);
  if (!time.ok) return { ok: false, failure: "signatureExpired", message: time.message };
  return { ok: true, principal: iam.principalOf(record), params };
}
