// Compact JWS helpers for the Azure emulator: RS256 signing, RS256/PS256 verification, JWKs.
import { constants, createPublicKey, sign, verify, type KeyObject } from "node:crypto";

export type JwtHeader = Record<string, unknown> & { alg?: string; kid?: string; x5t?: string; "x5t#S256"?: string };
export type JwtClaims = Record<string, unknown>;

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  /** `base64url(header).base64url(payload)`, the bytes the signature covers. */
  signingInput: string;
  signature: Buffer;
}

function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Signs `claims` with RS256 under `privateKeyPem`; pure computation. */
export function signJwt(claims: JwtClaims, privateKeyPem: string | KeyObject, header: JwtHeader = {}): string {
  const signingInput = `${encodeSegment({ typ: "JWT", ...header, alg: "RS256" })}.${encodeSegment(claims)}`;
  const signature = sign("sha256", Buffer.from(signingInput), privateKeyPem);
  return `${signingInput}.${signature.toString("base64url")}`;
}

/** Splits and parses a compact JWS without checking anything; undefined when it is not one. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [h = "", p = "", s = ""] = parts;
  const header = decodeSegment(h);
  const claims = decodeSegment(p);
  if (!header || !claims) return undefined;
  return { header, claims, signingInput: `${h}.${p}`, signature: Buffer.from(s, "base64url") };
}

/**
 * Checks the signature of a decoded JWS with `publicKey`. Supports RS256 (what MSAL uses with a
 * SHA-1 thumbprint) and PS256 (what MSAL uses with a SHA-256 thumbprint); other algorithms fail.
 */
export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const data = Buffer.from(jwt.signingInput);
  try {
    if (jwt.header.alg === "RS256") return verify("sha256", data, publicKey, jwt.signature);
    // RFC 7518 §3.5: the PSS salt is as long as the hash.
    if (jwt.header.alg === "PS256")
      return verify("sha256", data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, jwt.signature);
    return false;
  } catch {
    return false;
  }
}

/** The public JWK of an RSA key, as served at `discovery/v2.0/keys`. */
export function publicJwk(publicKeyPem: string, kid: string, certificatePem?: string): Record<string, unknown> {
  const jwk = createPublicKey(publicKeyPem).export({ format: "jwk" });
  const x5c = certificatePem === undefined ? {} : { x5c: [certificatePem.replace(/-----[A-Z ]+-----|\s/g, "")] };
  return { kty: "RSA", use: "sig", kid, x5t: kid, n: jwk.n, e: jwk.e, ...x5c };
}
