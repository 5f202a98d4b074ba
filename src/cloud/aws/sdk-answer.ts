// Reads what an AWS SDK error says about the answer behind it: status, headers, error code, and whether AWS wrote it at all.

/** The parts of an SDK error the classifier reads; everything is optional because anything can be thrown. */
interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  /** Set by the SDK on every modelled or unmodelled service exception ("client" | "server"), never on a deserialization failure. */
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  /** Non-enumerable on SDK errors: the raw HTTP response (headers only are read here, never the body). */
  $response?: { headers?: Record<string, unknown> };
}

/** What one failed call's error says, as plain values. */
export interface SdkAnswer {
  /** The AWS error code (the SDK puts it in `name`), or the JavaScript error's name. */
  name: string;
  /** Node's socket or DNS code, when the call got no answer. */
  sysCode: string | undefined;
  message: string;
  /** The HTTP status, when an answer arrived. */
  status: number | undefined;
  /** Lower-cased response header → value (strings only). */
  headers: ReadonlyMap<string, string>;
  /** True when an HTTP answer arrived but it is not an AWS error document (see isForeignAnswer). */
  foreign: boolean;
}

/** Names the SDK gives an error whose body carried no code: the answer was readable but not an AWS error. */
const CODELESS_NAMES = new Set(["Unknown", "UnknownError"]);

/** Reads an SDK error. Pure; never throws. */
export function readSdkAnswer(err: unknown): SdkAnswer {
  const e = (typeof err === "object" && err !== null ? err : {}) as SdkErrorShape;
  const name = typeof e.name === "string" ? e.name : "Error";
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  const headers = new Map<string, string>();
  const raw = e.$response?.headers;
  if (typeof raw === "object" && raw !== null) for (const [k, v] of Object.entries(raw)) if (typeof v === "string") headers.set(k.toLowerCase(), v);
  return {
    name,
    sysCode: typeof e.code === "string" ? e.code : undefined,
    message: typeof e.message === "string" ? e.message : String(err),
    status,
    headers,
    foreign: status !== undefined && isForeignAnswer(name, e.$fault, headers),
  };
}

/**
 * Whether an HTTP answer is something other than an AWS error document — a proxy's, firewall's or
 * load balancer's page. Judged by content, never by the message: AWS answers STS in XML and Lambda
 * in JSON, always with an error code (in the body or `x-amzn-ErrorType`), never in HTML. So:
 * - an HTML body;
 * - a body the SDK could not parse as its protocol at all: the error is then the parser's own
 *   (`SyntaxError`, an XML parse `Error`), which carries no `$fault` — every service exception has one;
 * - a parsed body without a code: the SDK names it `Unknown`/`UnknownError` or after the status.
 */
function isForeignAnswer(name: string, fault: unknown, headers: ReadonlyMap<string, string>): boolean {
  if ((headers.get("content-type") ?? "").toLowerCase().includes("html")) return true;
  if (fault !== "client" && fault !== "server") return true;
  return CODELESS_NAMES.has(name) || /^\d+$/.test(name);
}
