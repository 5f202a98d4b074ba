// The STS and Lambda SDK clients the provider uses: reused per credential and place, so the SDK's clock correction persists; no SDK retries; shared sockets and CAs.
import { Agent as HttpAgent } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { STSClient } from "@aws-sdk/client-sts";
import type { Clock } from "../../runtime/clock.js";
import { LruCache } from "../../runtime/cache/lru-cache.js";
import { Fingerprinter } from "../shared/fingerprint.js";
import { trustedHttpsAgent } from "../shared/tls.js";
import { lambdaEndpoint, stsEndpoint } from "./endpoints.js";

/** Static keys, or a provider of them (ambient credentials); structurally the SDK's credential identity. */
export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type AwsKeysProvider = () => Promise<AwsKeys>;

export interface AwsClientSettings {
  stsEndpoint?: string | undefined;
  lambdaEndpoint?: string | undefined;
  /** Per-request timeout; the SDK aborts and the call is classified `Timeout`. */
  requestTimeoutMs: number;
  /** CA bundle for https endpoints (public roots plus `tls.extraCaFiles`); undefined keeps Node's defaults. */
  ca?: readonly string[];
  /** Clients kept at most; default DEFAULT_MAX_CLIENTS. */
  maxClients?: number;
  /** A client unused this long is dropped with the credentials it holds; default 15 minutes. */
  maxIdleMs?: number;
}

type AwsService = "sts" | "lambda";

/** What every SDK client exposes of its signer: the offset it signs with, which the SDK corrects from each answer's Date. */
export interface SkewCorrectingClient {
  config: { systemClockOffset: number };
}

interface Entry {
  client: STSClient | LambdaClient;
  lastUsedMs: number;
}

/** Endpoints whose measured offset is remembered (a few per region in use). */
const MAX_ENDPOINTS = 256;

/**
 * Clients kept for reuse by default: what the reconciles in flight use at once (16 at the default
 * concurrency, each with an STS and a Lambda client, some with an assumed-role session's), with
 * room for their retries. Not sized from the fleet: verification and discovery results are shared,
 * so a credential-region's client is used about once per interval, and a cache of every one of
 * them (1,252 at 5,000 upstreams, ~19 KB each) held 20 MB for clients a cyclic pass never found
 * in it once it was smaller than the pass. A new client costs ~0.4 ms of CPU (bench/README.md);
 * what reuse must keep, the clock offset, is remembered per endpoint, not per client.
 */
export const DEFAULT_MAX_CLIENTS = 64;

/**
 * Owns the sockets for every AWS client it makes (keep-alive agents), so 1,000 verifications do
 * not open 1,000 connections, and the clients themselves, one per (service, region, endpoint,
 * credential fingerprint) in a small LRU (DEFAULT_MAX_CLIENTS). The SDK corrects a client's
 * `systemClockOffset` from every answer's Date; a new client starts from the offset last measured
 * at its endpoint, so a node with a bad clock fails once, not once per credential or per client.
 *
 * Keys hold an HMAC fingerprint, never a credential; the clients do hold their credentials, so
 * an entry evicted, idle past `maxIdleMs`, or released is dropped. Dropped clients are not
 * `destroy()`ed: that would destroy the agents every client shares. `close()` drops every client
 * and destroys the agents. No I/O at construction.
 */
export class AwsClientFactory {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent: HttpsAgent;
  private readonly clients: LruCache<string, Entry>;
  private readonly offsets = new LruCache<string, number>(MAX_ENDPOINTS);
  private readonly fingerprints = new Fingerprinter();
  private readonly maxIdleMs: number;
  private lastOffsetMs = 0;
  private lastSweepMs = 0;
  private made = 0;

  constructor(
    private readonly settings: AwsClientSettings,
    private readonly clock: Pick<Clock, "now">,
  ) {
    this.httpsAgent = trustedHttpsAgent(settings.ca);
    this.clients = new LruCache(settings.maxClients ?? DEFAULT_MAX_CLIENTS);
    this.maxIdleMs = settings.maxIdleMs ?? 15 * 60_000;
  }

  /** `credentials` undefined: the SDK default chain (environment, IRSA web identity, instance profile). */
  sts(region: string, credentials: AwsKeys | undefined): STSClient {
    const endpoint = stsEndpoint(region, this.settings.stsEndpoint);
    return this.reuse("sts", region, endpoint, credentials, (common) => new STSClient({ ...common, endpoint })) as STSClient;
  }

  lambda(region: string, credentials: AwsKeys | undefined): LambdaClient {
    const endpoint = lambdaEndpoint(region, this.settings.lambdaEndpoint);
    return this.reuse("lambda", region, endpoint, credentials, (common) => new LambdaClient({ ...common, endpoint })) as LambdaClient;
  }

  /**
   * Remembers the offset `client` now signs with (the SDK updated it from the last answer's Date)
   * for new clients at `endpoint`, and returns it in milliseconds: AWS's clock minus ours.
   */
  noteOffset(endpoint: string, client: SkewCorrectingClient): number {
    const offset = client.config.systemClockOffset;
    this.offsets.set(endpoint, offset);
    this.lastOffsetMs = offset;
    return offset;
  }

  /** The endpoint a service's clients in `region` talk to. Pure. */
  endpointOf(service: AwsService, region: string): string {
    return service === "sts" ? stsEndpoint(region, this.settings.stsEndpoint) : lambdaEndpoint(region, this.settings.lambdaEndpoint);
  }

  /** The offset last measured at `endpoint` (else anywhere; 0 before any answer), in milliseconds. */
  offsetAt(endpoint: string): number {
    return this.offsets.peek(endpoint) ?? this.lastOffsetMs;
  }

  /** Drops every client made with `credentials` (a replaced session): they must not outlive their use. */
  release(credentials: AwsKeys): void {
    const suffix = `|${this.fingerprintOf(credentials)}`;
    for (const key of this.clients.keys()) if (key.endsWith(suffix)) this.clients.delete(key);
  }

  /** Clients made since construction (for tests and metrics: reuse means this stays small). */
  get clientsMade(): number {
    return this.made;
  }

  /** Clients held now. */
  get size(): number {
    return this.clients.size;
  }

  /** Drops every client and destroys the shared sockets. Idempotent. */
  close(): void {
    this.clients.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private reuse(
    service: AwsService,
    region: string,
    endpoint: string,
    credentials: AwsKeys | undefined,
    make: (common: ReturnType<AwsClientFactory["common"]>) => STSClient | LambdaClient,
  ): STSClient | LambdaClient {
    const now = this.clock.now();
    this.sweep(now);
    const key = `${service}|${region}|${endpoint}|${credentials === undefined ? "default-chain" : this.fingerprintOf(credentials)}`;
    const entry = this.clients.get(key);
    if (entry !== undefined) {
      entry.lastUsedMs = now;
      return entry.client;
    }
    const client = make(this.common(region, endpoint, credentials));
    this.made += 1;
    this.clients.set(key, { client, lastUsedMs: now });
    return client;
  }

  /** Drops idle clients, oldest first; at most once a minute, since the scan is linear. */
  private sweep(now: number): void {
    if (now - this.lastSweepMs < 60_000) return;
    this.lastSweepMs = now;
    for (const key of this.clients.keys()) {
      const entry = this.clients.peek(key);
      if (entry === undefined) continue;
      // keys() is oldest first: the first entry still in use ends the scan.
      if (now - entry.lastUsedMs < this.maxIdleMs) break;
      this.clients.delete(key);
    }
  }

  private fingerprintOf(credentials: AwsKeys): string {
    return this.fingerprints.of([credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken ?? ""]);
  }

  private common(region: string, endpoint: string, credentials: AwsKeys | undefined) {
    return {
      region,
      // Retries belong to the work queue (backoff) and the Lambda pacer (throttling), not to the SDK,
      // whose silent retries would hide throttling from the pacer and multiply calls.
      maxAttempts: 1,
      systemClockOffset: this.offsetAt(endpoint),
      requestHandler: { httpAgent: this.httpAgent, httpsAgent: this.httpsAgent, requestTimeout: this.settings.requestTimeoutMs, throwOnRequestTimeout: true, connectionTimeout: this.settings.requestTimeoutMs },
      ...(credentials === undefined ? {} : { credentials }),
    };
  }
}
