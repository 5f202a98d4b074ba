// The AWS emulator: one endpoint for STS and Lambda in every region, routed by the SigV4 credential scope.
import type { IncomingMessage, ServerResponse } from "node:http";
import { FaultInjector } from "../common/faults.js";
import { handleAdmin, listen, sendJson, type SandboxServer } from "../common/http-server.js";
import { AwsCallCounters } from "./aws-counters.js";
import { toWireRequest, type AwsContext } from "./context.js";
import { LambdaFunctionStore, type FunctionOptions, type LambdaFunction } from "./functions.js";
import { IamDirectory, type AwsKeyPair, type AwsPermissions, type RoleOptions, type SessionCredentials } from "./iam.js";
import { handleLambda, LAMBDA_API_PREFIX } from "./lambda-handler.js";
import { applyAwsSeed, type AwsSeed, type AwsSeedResult } from "./seed.js";
import { AWS_OPERATIONS } from "./operations.js";
import { parseSigV4 } from "./sigv4.js";
import { handleSts } from "./sts-handler.js";
import { KeyedTokenBuckets } from "./token-bucket.js";

export type { AwsCallCounters, AwsOutcome } from "./aws-counters.js";
export type { AliasOptions, FunctionOptions, LambdaFunction } from "./functions.js";
export type { AwsKeyPair, AwsPermissions, RoleOptions, SessionCredentials } from "./iam.js";
export type { AwsSeed, AwsSeedResult } from "./seed.js";
export { parseAwsSeed } from "./seed.js";

export interface AwsEmulatorOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Epoch milliseconds; drives signing windows, session expiry and the Lambda quota. Default `Date.now`. */
  clock?: () => number;
  /** Lambda control-plane quota per account and region (also the burst). Default 15, as in AWS. */
  lambdaRateLimitPerSecond?: number;
  /** Random source for fault decisions, for deterministic fault tests. */
  random?: () => number;
}

export interface AwsEmulator extends SandboxServer {
  /** Overall counts (`get(op, outcome?)`) plus `callsFor(op, account, region, outcome?)`. */
  counters: AwsCallCounters;
  /** Adds an account (idempotent). Throws unless the id is 12 digits. */
  addAccount(accountId: string): void;
  /** Adds a user (creating its account) with one access key, generated unless given. */
  addUser(accountId: string, userName: string, options?: { permissions?: AwsPermissions; accessKeyId?: string; secretAccessKey?: string }): AwsKeyPair;
  /** Another access key for an existing user. */
  addAccessKey(accountId: string, userName: string, keys?: Partial<AwsKeyPair>): AwsKeyPair;
  /** Requests signed with the key then fail with InvalidClientTokenId / UnrecognizedClientException. */
  deactivateKey(accessKeyId: string): boolean;
  /** Adds or replaces a role; returns its ARN. */
  addRole(accountId: string, roleName: string, options: RoleOptions): string;
  /** Adds or replaces one function in `region` of `accountId`. */
  addFunction(accountId: string, region: string, options: FunctionOptions): LambdaFunction;
  /** Adds `count` functions named `<prefix>-0001` …; cheap for fleets of thousands. Returns the names. */
  addFunctions(accountId: string, region: string, count: number, prefix: string): string[];
  removeFunction(accountId: string, region: string, name: string): boolean;
  /**
   * Session credentials for a role without AssumeRole or trust checks, expiring at `expiresAtMs`
   * or `durationSeconds` (default 3600) after the emulator clock's now.
   */
  issueSessionCredentials(accountId: string, roleName: string, options?: { sessionName?: string; durationSeconds?: number; expiresAtMs?: number }): SessionCredentials;
  /** Changes the Lambda quota (requests per second and burst) for every account and region. */
  setLambdaRateLimit(requestsPerSecond: number): void;
  /** Refills every Lambda quota bucket, so tests sharing one emulator do not inherit each other's spending. */
  resetLambdaQuota(): void;
  /** Loads a seed (see seed.ts for the shape); throws on a malformed one. */
  applySeed(seed: AwsSeed): AwsSeedResult;
}

function route(ctx: AwsContext) {
  return async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    if (handleAdmin(req, res, body, ctx.faults, ctx.counters)) return;
    // Every AWS answer carries the service's time; the SDK corrects its clock skew from it, so it comes from the (offset) emulator clock.
    res.setHeader("date", new Date(ctx.clock()).toUTCString());
    const wire = toWireRequest(req, body);
    const parsed = parseSigV4(wire);
    // Unsigned requests have no scope; the path still tells Lambda's REST API from STS's query API.
    const service = parsed.kind === "ok" ? parsed.params.service : wire.rawPath.startsWith(LAMBDA_API_PREFIX) ? "lambda" : "sts";
    if (service === "sts") return handleSts(ctx, wire, res);
    if (service === "lambda") return handleLambda(ctx, wire, res);
    ctx.counters.recordScoped(`${service.slice(0, 32)}:Unknown`, "error", undefined, undefined);
    sendJson(res, 400, { Type: "User", message: `The sandbox does not emulate service '${service.slice(0, 32)}'; only sts and lambda.` });
  };
}

/** Starts the emulator on `host:port` (loopback, free port by default). I/O: listens until `close()`. */
export async function createAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const faults = new FaultInjector(options.random, AWS_OPERATIONS);
  // Signing windows, session expiry and the Date header all follow the emulator's clock, fault offset included.
  const clock = faults.offsetClock(options.clock ?? Date.now);
  const ctx: AwsContext = {
    iam: new IamDirectory(),
    functions: new LambdaFunctionStore(),
    counters: new AwsCallCounters(),
    faults,
    lambdaQuota: new KeyedTokenBuckets(options.lambdaRateLimitPerSecond ?? 15),
    clock,
  };
  const server = await listen(route(ctx), { ...(options.host === undefined ? {} : { host: options.host }), ...(options.port === undefined ? {} : { port: options.port }) });
  const { iam, functions } = ctx;
  return {
    ...server,
    faults: ctx.faults,
    counters: ctx.counters,
    addAccount: (accountId) => iam.addAccount(accountId),
    addUser: (accountId, userName, opts = {}) =>
      iam.addUser(accountId, userName, {
        ...(opts.permissions === undefined ? {} : { permissions: opts.permissions }),
        keys: {
          ...(opts.accessKeyId === undefined ? {} : { accessKeyId: opts.accessKeyId }),
          ...(opts.secretAccessKey === undefined ? {} : { secretAccessKey: opts.secretAccessKey }),
        },
      }),
    addAccessKey: (accountId, userName, keys) => iam.addAccessKey(accountId, userName, keys),
    deactivateKey: (accessKeyId) => iam.deactivateKey(accessKeyId),
    addRole: (accountId, roleName, roleOptions) => iam.addRole(accountId, roleName, roleOptions),
    addFunction: (accountId, region, fn) => {
      iam.addAccount(accountId);
      return functions.add(accountId, region, fn, clock());
    },
    addFunctions: (accountId, region, count, prefix) => {
      iam.addAccount(accountId);
      return functions.addMany(accountId, region, count, prefix, clock());
    },
    removeFunction: (accountId, region, name) => functions.remove(accountId, region, name),
    issueSessionCredentials: (accountId, roleName, opts = {}) =>
      iam.issueSessionCredentials(accountId, roleName, {
        ...(opts.sessionName === undefined ? {} : { sessionName: opts.sessionName }),
        expiresAtMs: opts.expiresAtMs ?? clock() + (opts.durationSeconds ?? 3600) * 1000,
      }),
    setLambdaRateLimit: (requestsPerSecond) => ctx.lambdaQuota.setRate(requestsPerSecond),
    resetLambdaQuota: () => ctx.lambdaQuota.reset(),
    applySeed: (seed) => applyAwsSeed(iam, functions, seed, clock()),
  };
}
