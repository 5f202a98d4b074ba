// What the STS and Lambda handlers share: the emulator's state, and the request as it came off the wire.
import type { IncomingMessage } from "node:http";
import type { FaultInjector } from "../common/faults.js";
import type { AwsCallCounters } from "./aws-counters.js";
import type { LambdaFunctionStore } from "./functions.js";
import type { IamDirectory, Principal } from "./iam.js";
import { parseSigV4, type WireRequest } from "./sigv4.js";
import type { KeyedTokenBuckets } from "./token-bucket.js";

export interface AwsContext {
  iam: IamDirectory;
  functions: LambdaFunctionStore;
  counters: AwsCallCounters;
  faults: FaultInjector;
  /** Lambda control-plane quota, keyed `<account>/<region>`. */
  lambdaQuota: KeyedTokenBuckets;
  /** The emulator's clock in epoch milliseconds (fault clock offset included); drives expiry, signing windows, quotas and the Date header. */
  clock: () => number;
}

/**
 * Captures a request for signature checks: the raw (still encoded) path and query, and every
 * header value from `rawHeaders`, because Node's `headers` merges and rewrites some duplicates
 * differently from how SigV4 joins them.
 */
export function toWireRequest(req: IncomingMessage, body: Buffer): WireRequest {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const headers = new Map<string, string[]>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? "").toLowerCase();
    const list = headers.get(name) ?? [];
    list.push(req.rawHeaders[i + 1] ?? "");
    headers.set(name, list);
  }
  return { method: req.method ?? "GET", rawPath: q < 0 ? url : url.slice(0, q), rawQuery: q < 0 ? "" : url.slice(q + 1), headers, body };
}

/**
 * Who a request claims to be, without verifying it: the credential scope's region and the
 * account of the access key if the emulator knows it. Only for attributing counts of calls that
 * fail before or during authentication; never for authorising anything.
 */
export function claimedCaller(ctx: AwsContext, req: WireRequest): { accountId: string | undefined; region: string | undefined; principal: Principal | undefined } {
  const parsed = parseSigV4(req);
  if (parsed.kind !== "ok") return { accountId: undefined, region: undefined, principal: undefined };
  const record = ctx.iam.lookupKey(parsed.params.accessKeyId);
  const principal = record?.active === true ? ctx.iam.principalOf(record) : undefined;
  return { accountId: record === undefined ? undefined : ctx.iam.principalOf(record).accountId, region: parsed.params.region, principal };
}
