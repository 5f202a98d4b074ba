// Test helper: collects every error a provider produced, so one test can assert no secret reached any of them.
import { inspect } from "node:util";
import type { DiscoverResult, VerifyResult } from "../../src/cloud/provider.js";

/** Every rendering of an error a log line or status could carry: message, cause chain, inspect, JSON. */
export function renderings(err: unknown): string[] {
  const out: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    out.push(e.message, e.stack ?? "", JSON.stringify(e), inspect(e, { depth: 5 }));
    e = e.cause;
  }
  return out;
}

export class ErrorCollector {
  readonly texts: string[] = [];

  /** Records the error (and warnings) of a result; returns the result for chaining. */
  add<T extends VerifyResult | DiscoverResult>(result: T): T {
    if (result.status === "rejected" || result.status === "unknown") this.texts.push(...renderings(result.error));
    if (result.status === "listed") for (const w of result.warnings) this.texts.push(...renderings(w));
    this.texts.push(JSON.stringify(result));
    return result;
  }

  /** The secrets (of those given) that appear in any collected text. */
  leaked(secrets: readonly string[]): string[] {
    return secrets.filter((s) => this.texts.some((t) => t.includes(s)));
  }
}
