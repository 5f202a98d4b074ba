// The ARM token request, with what MSAL drops kept: Entra's Retry-After and clock, and why OpenID discovery failed.
import { request as httpsRequest, type Agent as HttpsAgent } from "node:https";
import type { ClientSecretCredentialOptions, TokenCredential } from "@azure/identity";

type AdditionalPolicy = NonNullable<ClientSecretCredentialOptions["additionalPolicies"]>[number];
type Policy = AdditionalPolicy["policy"];

/** Failed token answers remembered per request, until the error that follows them is built. */
const MAX_REMEMBERED = 256;

/**
 * Watches the identity client's HTTP answers. MSAL keeps the status of a failed token request but
 * drops its headers, so Retry-After never reaches the error; this policy remembers it by the
 * request's correlation id (`client-request-id`, which MSAL also puts on its ServerError). It also
 * reports Entra's clock (its Date header) against ours. No secret is read: only status and headers.
 */
export class EntraResponseProbe {
  private readonly retryAfters = new Map<string, string>();

  constructor(private readonly onClockOffsetSeconds: (seconds: number) => void = () => undefined, private readonly now: () => number = Date.now) {}

  readonly policy: AdditionalPolicy = {
    position: "perCall",
    policy: {
      name: "credbrokerEntraResponseProbe",
      sendRequest: async (request, next) => {
        const response = await next(request);
        this.observe(request.url, request.headers.get("client-request-id"), response.status, response.headers.get("retry-after"), response.headers.get("date"));
        return response;
      },
    } satisfies Policy,
  };

  private observe(url: string, headerId: string | undefined, status: number, retryAfter: string | undefined, date: string | undefined): void {
    const serverMs = date === undefined ? Number.NaN : Date.parse(date);
    // The Date header has one-second resolution: report whole seconds only.
    if (!Number.isNaN(serverMs)) this.onClockOffsetSeconds(Math.round((serverMs - this.now()) / 1000));
    if (status < 400 || retryAfter === undefined) return;
    let id = headerId;
    try {
      id ??= new URL(url).searchParams.get("client-request-id") ?? undefined;
    } catch {
      return;
    }
    if (id === undefined) return;
    this.retryAfters.set(id.toLowerCase(), retryAfter);
    for (const old of this.retryAfters.keys()) {
      if (this.retryAfters.size <= MAX_REMEMBERED) break;
      this.retryAfters.delete(old);
    }
  }

  /** The Retry-After of the failed answer to request `correlationId`, forgotten once taken. */
  take(correlationId: string): string | undefined {
    const key = correlationId.toLowerCase();
    const value = this.retryAfters.get(key);
    this.retryAfters.delete(key);
    return value;
  }
}

/** A token request's failure with what MSAL dropped: the Retry-After Entra sent, or the body of a failed OpenID discovery. */
export class EntraTokenError extends Error {
  constructor(
    cause: unknown,
    /** Raw Retry-After of the failed answer, when Entra sent one. */
    readonly retryAfter: string | undefined,
    /** HTTP status of a failed OpenID discovery (MSAL reports only `endpoints_resolution_error`). */
    readonly status?: number,
  ) {
    super(cause instanceof Error ? cause.message : "token request failed", { cause });
    this.name = "EntraTokenError";
  }
}

export interface DiscoveryCheck {
  /** `<authorityHost>/<tenant>/v2.0/.well-known/openid-configuration`. */
  url: string;
  /** The provider's shared Agent (trusted CAs, pooled sockets). */
  agent?: HttpsAgent;
  timeoutMs: number;
}

function correlationIdOf(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const id = (current as { correlationId?: unknown }).correlationId;
    if (typeof id === "string" && id !== "") return id;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isEndpointsResolutionError(err: unknown): boolean {
  return err instanceof Error && err.name === "CredentialUnavailableError" && err.message.includes("endpoints_resolution_error");
}

/** GETs the OpenID document and resolves with its status and (capped) body; rejects on a network failure or the deadline. I/O. */
function fetchDiscovery(check: DiscoveryCheck): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(check.url, { method: "GET", signal: AbortSignal.timeout(check.timeoutMs), ...(check.agent === undefined ? {} : { agent: check.agent }) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= 64 * 1024) chunks.push(chunk);
      });
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * When MSAL could not resolve the tenant's endpoints (it fetches the OpenID document for any
 * authority it does not know by heart, and reduces a 400 to `endpoints_resolution_error`), asks
 * the document once more to learn why: Entra answers an unknown tenant with 400 AADSTS90002, a
 * verdict on the principal's tenant; anything else stays the original (transient) error. I/O.
 */
async function explainDiscoveryFailure(err: unknown, check: DiscoveryCheck): Promise<unknown> {
  try {
    const answer = await fetchDiscovery(check);
    if (answer.status < 400 || answer.status >= 500) return err;
    const body = JSON.parse(answer.body) as { error_description?: unknown };
    if (typeof body.error_description !== "string" || !/AADSTS\d+/.test(body.error_description)) return err;
    return new EntraTokenError(new Error(body.error_description, { cause: err }), undefined, answer.status);
  } catch {
    return err;
  }
}

/**
 * Asks `credential` for an ARM token (CAE-enabled, like the ARM client's own requests, so the
 * credential's cache serves them). On failure throws the SDK's error wrapped in EntraTokenError
 * with the Retry-After the probe saw, or the explained discovery failure. I/O.
 */
export async function acquireArmToken(credential: TokenCredential, scope: string, probe: EntraResponseProbe, discovery: DiscoveryCheck): Promise<void> {
  try {
    await credential.getToken(scope, { enableCae: true });
  } catch (err) {
    if (isEndpointsResolutionError(err)) throw await explainDiscoveryFailure(err, discovery);
    const id = correlationIdOf(err);
    throw new EntraTokenError(err, id === undefined ? undefined : probe.take(id));
  }
}
