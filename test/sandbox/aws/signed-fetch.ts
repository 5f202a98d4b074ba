// A minimal SigV4 signer over fetch, for checking raw wire shapes (headers, bodies) the SDK hides.
import { expectedSignature, toAmzDate, type SigV4Params, type WireRequest } from "../../../src/sandbox/aws/sigv4.js";

export interface SignedFetchOptions {
  endpoint: string;
  method?: string;
  /** Path and query as they go on the wire (already percent-encoded). */
  pathAndQuery: string;
  region: string;
  service: string;
  accessKeyId: string;
  secretAccessKey: string;
  body?: string;
  headers?: Record<string, string>;
  nowMs?: number;
  /** Sign in the query string (presigned form) instead of the Authorization header. */
  presign?: boolean;
}

/**
 * Signs with the emulator's own canonicalisation — only for inspecting responses; the real SDKs
 * and the aws CLI are what prove the verifier correct.
 */
export async function signedFetch(options: SignedFetchOptions): Promise<Response> {
  const url = new URL(options.pathAndQuery, options.endpoint);
  const method = options.method ?? "GET";
  const body = Buffer.from(options.body ?? "", "utf8");
  const amzDate = toAmzDate(options.nowMs ?? Date.now());
  const params: SigV4Params = {
    form: options.presign ? "query" : "header",
    accessKeyId: options.accessKeyId,
    scopeDate: amzDate.slice(0, 8),
    region: options.region,
    service: options.service,
    terminator: "aws4_request",
    signedHeaders: ["host"],
    signature: "",
    amzDate,
  };
  let rawQuery = url.search.replace(/^\?/, "");
  const headers: Record<string, string> = { ...options.headers, host: url.host };
  if (options.presign) {
    const credential = encodeURIComponent(`${options.accessKeyId}/${params.scopeDate}/${params.region}/${params.service}/aws4_request`);
    const extra = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${credential}&X-Amz-Date=${amzDate}&X-Amz-Expires=300&X-Amz-SignedHeaders=host`;
    rawQuery = rawQuery === "" ? extra : `${rawQuery}&${extra}`;
  } else {
    headers["x-amz-date"] = amzDate;
    params.signedHeaders = ["host", "x-amz-date"];
  }
  const wire: WireRequest = {
    method,
    rawPath: url.pathname,
    rawQuery,
    headers: new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v]])),
    body,
  };
  const signature = expectedSignature(wire, params, options.secretAccessKey);
  if (options.presign) rawQuery = `${rawQuery}&X-Amz-Signature=${signature}`;
  else {
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${options.accessKeyId}/${params.scopeDate}/${params.region}/${params.service}/aws4_request, SignedHeaders=${params.signedHeaders.join(";")}, Signature=${signature}`;
  }
  delete headers.host;
  const init: RequestInit = { method, headers };
  if (method !== "GET" && method !== "HEAD") init.body = body;
  return fetch(`${url.origin}${url.pathname}${rawQuery === "" ? "" : `?${rawQuery}`}`, init);
}
