// A fake HTTP client for @azure/identity and @azure/arm-appservice: answers with canned responses, as Microsoft documents them.
import type { ClientSecretCredentialOptions } from "@azure/identity";

type HttpClient = NonNullable<ClientSecretCredentialOptions["httpClient"]>;
type PipelineRequest = Parameters<HttpClient["sendRequest"]>[0];
type PipelineResponse = Awaited<ReturnType<HttpClient["sendRequest"]>>;
type HttpHeaders = PipelineResponse["headers"];

export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

class Headers implements HttpHeaders {
  private readonly map = new Map<string, string>();
  constructor(values: Record<string, string>) {
    for (const [k, v] of Object.entries(values)) this.map.set(k.toLowerCase(), v);
  }
  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase());
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  set(name: string, value: string | number | boolean): void {
    this.map.set(name.toLowerCase(), String(value));
  }
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.map);
  }
  *[Symbol.iterator](): Generator<[string, string]> {
    yield* this.map.entries();
  }
}

/** Answers each request with the first route whose test matches its URL; records what was asked. */
export class FakeHttp {
  readonly requests: { method: string; url: string }[] = [];
  constructor(private readonly routes: { match: RegExp; answer: (request: PipelineRequest) => CannedResponse }[]) {}

  readonly client: HttpClient = {
    sendRequest: (request: PipelineRequest): Promise<PipelineResponse> => {
      this.requests.push({ method: request.method, url: request.url });
      const route = this.routes.find((r) => r.match.test(request.url));
      const canned = route?.answer(request) ?? { status: 404, body: { error: { code: "NotFound", message: `no fake route for ${request.url}` } } };
      return Promise.resolve({
        request,
        status: canned.status,
        headers: new Headers({ "content-type": "application/json; charset=utf-8", ...canned.headers }),
        bodyAsText: typeof canned.body === "string" ? canned.body : JSON.stringify(canned.body),
      });
    },
  };
}

/** An Entra error body in the documented shape (identity platform: error, error_description, error_codes, timestamp, trace_id, correlation_id). */
export function entraErrorBody(error: string, code: number, description: string, correlationId = "aaaa0000-bb11-2222-33cc-444444dddddd"): Record<string, unknown> {
  const traceId = "0000aaaa-11bb-cccc-dd22-eeeeee333333";
  return {
    error,
    error_description: `AADSTS${code}: ${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: 2025-05-01 12:00:00Z`,
    error_codes: [code],
    timestamp: "2025-05-01 12:00:00Z",
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  };
}

/** The correlation id MSAL put on a token request (its `client-request-id` query parameter). */
export function correlationOf(request: PipelineRequest): string {
  return new URL(request.url).searchParams.get("client-request-id") ?? "";
}
