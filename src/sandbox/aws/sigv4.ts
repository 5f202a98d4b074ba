// AWS Signature Version 4 verification (header and presigned-query forms), canonicalised exactly as AWS documents it.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** A request as it arrived on the wire; paths and queries stay percent-encoded as sent. */
export interface WireRequest {
  method: string;
  /** The path exactly as sent, still percent-encoded. */
  rawPath: string;
  /** The query string as sent, without `?`. */
  rawQuery: string;
  /** Lower-cased header name → every value received, in order. */
  headers: ReadonlyMap<string, readonly string[]>;
  body: Buffer;
}

/** The signature parameters a request carries, from its Authorization header or its query. */
export interface SigV4Params {
  form: "header" | "query";
  accessKeyId: string;
  /** `YYYYMMDD` of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
  /** `YYYYMMDDTHHMMSSZ` the client signed at. */
  amzDate: string;
  sessionToken?: string;
  /** Presigned requests only: validity after `amzDate`. */
  expiresSeconds?: number;
}

export type ParsedSigV4 = { kind: "none" } | { kind: "malformed"; message: string } | { kind: "ok"; params: SigV4Params };

export const ALGORITHM = "AWS4-HMAC-SHA256";
/** AWS accepts signatures made up to 15 minutes before or after its own clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** First value of a header, or undefined. */
export function header(req: WireRequest, name: string): string | undefined {
  return req.headers.get(name)?.[0];
}

/** Percent-encodes everything except RFC 3986 unreserved characters (and `/` when `keepSlash`), as SigV4 requires. */
export function uriEncode(value: string, keepSlash = false): string {
  const encoded = encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, "/") : encoded;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The query's parameters decoded, in order (repeated keys kept). `+` stays `+`: SigV4 clients encode spaces as `%20`. */
export function parseQuery(rawQuery: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    out.push(eq < 0 ? [safeDecode(part), ""] : [safeDecode(part.slice(0, eq)), safeDecode(part.slice(eq + 1))]);
  }
  return out;
}

/**
 * Reads the SigV4 parameters of a request without checking them: "none" when it carries no
 * signature at all, "malformed" when it tries and fails. Pure; used both to route (by the
 * credential scope's service and region) and to verify.
 */
export function parseSigV4(req: WireRequest): ParsedSigV4 {
  const authorization = header(req, "authorization");
  if (authorization !== undefined) return parseAuthorizationHeader(req, authorization);
  const query = new Map(parseQuery(req.rawQuery));
  if (query.has("X-Amz-Algorithm") || query.has("X-Amz-Signature")) return parsePresignedQuery(query);
  return { kind: "none" };
}

function parseCredential(credential: string): Pick<SigV4Params, "accessKeyId" | "scopeDate" | "region" | "service" | "terminator"> | undefined {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts.some((p) => p === "")) return undefined;
  const [accessKeyId = "", scopeDate = "", region = "", service = "", terminator = ""] = parts;
  return { accessKeyId, scopeDate, region, service, terminator };
}

function parseAuthorizationHeader(req: WireRequest, authorization: string): ParsedSigV4 {
  const space = authorization.indexOf(" ");
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== ALGORITHM) return { kind: "malformed", message: `Unsupported authorization algorithm: ${algorithm.slice(0, 40)}` };
  const fields = new Map<string, string>();
  for (const item of authorization.slice(space + 1).split(",")) {
    const eq = item.indexOf("=");
    if (eq > 0) fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
  }
  for (const name of ["Credential", "SignedHeaders", "Signature"]) {
    if (!fields.has(name)) return { kind: "malformed", message: `Authorization header requires '${name}' parameter. Authorization=${ALGORITHM} ...` };
  }
  const credential = parseCredential(fields.get("Credential") ?? "");
  if (!credential) return { kind: "malformed", message: "Authorization header requires a Credential of the form <key>/<date>/<region>/<service>/aws4_request." };
  const amzDate = header(req, "x-amz-date") ?? fromHttpDate(header(req, "date"));
  if (amzDate === undefined) return { kind: "malformed", message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header." };
  const sessionToken = header(req, "x-amz-security-token");
  return {
    kind: "ok",
    params: {
      form: "header",
      ...credential,
      signedHeaders: (fields.get("SignedHeaders") ?? "").split(";").filter((h) => h !== ""),
      signature: fields.get("Signature") ?? "",
      amzDate,
      ...(sessionToken === undefined ? {} : { sessionToken }),
    },
  };
}

function parsePresignedQuery(query: Map<string, string>): ParsedSigV4 {
  for (const name of ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"]) {
    if (!query.has(name)) return { kind: "malformed", message: `AWS query-string parameters must include '${name}'.` };
  }
  if (query.get("X-Amz-Algorithm") !== ALGORITHM) return { kind: "malformed", message: "X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'." };
  const credential = parseCredential(query.get("X-Amz-Credential") ?? "");
  if (!credential) return { kind: "malformed", message: "X-Amz-Credential must be of the form <key>/<date>/<region>/<service>/aws4_request." };
  const expires = Number(query.get("X-Amz-Expires") ?? "900");
  const sessionToken = query.get("X-Amz-Security-Token");
  return {
    kind: "ok",
    params: {
      form: "query",
      ...credential,
      signedHeaders: (query.get("X-Amz-SignedHeaders") ?? "").split(";").filter((h) => h !== ""),
      signature: query.get("X-Amz-Signature") ?? "",
      amzDate: query.get("X-Amz-Date") ?? "",
      expiresSeconds: Number.isFinite(expires) ? expires : 0,
      ...(sessionToken === undefined ? {} : { sessionToken }),
    },
  };
}

function fromHttpDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : toAmzDate(ms);
}

/** Epoch milliseconds → `YYYYMMDDTHHMMSSZ`. */
export function toAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** `YYYYMMDDTHHMMSSZ` → epoch milliseconds, or undefined when malformed. */
export function parseAmzDate(value: string): number | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 0, h ?? 0, mi ?? 0, s ?? 0);
}

/**
 * The canonical URI: the path as sent, dot segments removed and empty segments collapsed, then
 * URI-encoded once more. Every service but S3 signs this doubly-encoded form, so `my%3Afn` signs
 * as `my%253Afn` — both the JS SDK and botocore do so.
 */
export function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && rawPath.endsWith("/") ? "/" : "";
  return uriEncode(`/${segments.join("/")}${trailing}`, true);
}

/** The canonical query: parameters decoded, re-encoded, sorted by key then value; the signature itself excluded. */
export function canonicalQuery(rawQuery: string): string {
  return parseQuery(rawQuery)
    .filter(([key]) => key !== "X-Amz-Signature")
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
}

function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The payload hash the client must have signed: `x-amz-content-sha256` when sent, else the body's SHA-256. */
export function payloadHash(req: WireRequest): string {
  return header(req, "x-amz-content-sha256") ?? sha256Hex(req.body);
}

/** Builds the canonical request of SigV4 step 1. Pure. */
export function canonicalRequest(req: WireRequest, params: SigV4Params): string {
  const headerLines = params.signedHeaders.map((name) => {
    const values = (req.headers.get(name) ?? []).map((v) => v.trim().replace(/\s+/g, " "));
    return `${name}:${values.join(",")}`;
  });
  return [req.method, canonicalUri(req.rawPath), canonicalQuery(req.rawQuery), ...headerLines, "", params.signedHeaders.join(";"), payloadHash(req)].join("\n");
}

/** The signature a client holding `secretAccessKey` would have computed for this request. Pure. */
export function expectedSignature(req: WireRequest, params: SigV4Params, secretAccessKey: string): string {
  const scope = `${params.scopeDate}/${params.region}/${params.service}/${params.terminator}`;
  const stringToSign = [ALGORITHM, params.amzDate, scope, sha256Hex(canonicalRequest(req, params))].join("\n");
  let key: Buffer = createHmac("sha256", `AWS4${secretAccessKey}`).update(params.scopeDate).digest();
  for (const part of [params.region, params.service, params.terminator]) key = createHmac("sha256", key).update(part).digest();
  return createHmac("sha256", key).update(stringToSign).digest("hex");
}

export type SignatureCheck = { ok: true } | { ok: false; message: string };

const MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/**
 * Checks the signature math and the scope's shape (not the clock): a wrong secret, a tampered
 * request or an inconsistent scope all fail here. Pure; compares in constant time.
 */
export function verifySignature(req: WireRequest, params: SigV4Params, secretAccessKey: string): SignatureCheck {
  if (params.terminator !== "aws4_request") return { ok: false, message: "Credential should be scoped with a valid terminator: 'aws4_request'." };
  if (parseAmzDate(params.amzDate) === undefined) return { ok: false, message: `Invalid X-Amz-Date: ${params.amzDate.slice(0, 32)}` };
  if (!params.amzDate.startsWith(params.scopeDate)) {
    return { ok: false, message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${params.scopeDate}' != '${params.amzDate.slice(0, 8)}'` };
  }
  if (!params.signedHeaders.includes("host")) return { ok: false, message: "'Host' must be a 'SignedHeader' in the AWS Authorization." };
  const sentHash = header(req, "x-amz-content-sha256");
  if (sentHash !== undefined && sentHash !== "UNSIGNED-PAYLOAD" && sentHash !== sha256Hex(req.body)) {
    return { ok: false, message: "The provided 'x-amz-content-sha256' header does not match what was computed." };
  }
  const expected = Buffer.from(expectedSignature(req, params, secretAccessKey), "utf8");
  const given = Buffer.from(params.signature, "utf8");
  return expected.length === given.length && timingSafeEqual(expected, given) ? { ok: true } : { ok: false, message: MISMATCH };
}

/** Checks the signing time against the emulator clock (±15 minutes; presigned: within X-Amz-Expires too). Pure. */
export function verifySigningTime(params: SigV4Params, nowMs: number): SignatureCheck {
  const signedMs = parseAmzDate(params.amzDate);
  if (signedMs === undefined) return { ok: false, message: `Invalid X-Amz-Date: ${params.amzDate.slice(0, 32)}` };
  const now = toAmzDate(nowMs);
  if (params.form === "query") {
    if (nowMs > signedMs + (params.expiresSeconds ?? 0) * 1000) return { ok: false, message: `Signature expired: ${params.amzDate} is now earlier than ${now}` };
    if (signedMs > nowMs + MAX_SKEW_MS) return { ok: false, message: `Signature not yet current: ${params.amzDate} is still later than ${toAmzDate(nowMs + MAX_SKEW_MS)} (${now} + 15 min.)` };
    return { ok: true };
  }
  if (signedMs < nowMs - MAX_SKEW_MS) return { ok: false, message: `Signature expired: ${params.amzDate} is now earlier than ${toAmzDate(nowMs - MAX_SKEW_MS)} (${now} - 15 min.)` };
  if (signedMs > nowMs + MAX_SKEW_MS) return { ok: false, message: `Signature not yet current: ${params.amzDate} is still later than ${toAmzDate(nowMs + MAX_SKEW_MS)} (${now} + 15 min.)` };
  return { ok: true };
}
