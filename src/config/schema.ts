// Every setting's schema, default and description, and the variable and flag that set it. Pure.
import { z } from "zod";

// Plain decimal digits only: Number() would also take hex (0x1F90), binary, exponents and
// whitespace, so a typo or a pasted value would be read as some other number without a word.
const DECIMAL = /^\d{1,15}$/;
const DURATION = /^(\d{1,15}(?:\.\d{1,9})?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toInteger(v: unknown): unknown {
  return typeof v === "string" && DECIMAL.test(v) ? Number(v) : v;
}

function toDurationMs(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const m = DURATION.exec(v);
  if (!m) return v;
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? "ms"] ?? 1));
}

function toBoolean(v: unknown): unknown {
  if (typeof v !== "string") return v;
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  return v;
}

function toList(v: unknown): unknown {
  if (typeof v !== "string") return v;
  return v.trim() === "" ? [] : v.split(",").map((s) => s.trim());
}

const int = (min: number, max: number, def: number, doc: string) => {
  const error = `must be a whole number from ${min} to ${max}, in decimal digits`;
  return z.preprocess(toInteger, z.number({ error }).int({ error }).min(min, { error }).max(max, { error })).default(def).describe(doc);
};

const durationMs = (minMs: number, def: number, doc: string) =>
  z.preprocess(toDurationMs, z.number({ error: `must be a duration such as 500ms, 30s, 5m or a number of milliseconds (at least ${minMs} ms)` }).int({ error: `must be a whole number of milliseconds` }).min(minMs, { error: `must be at least ${minMs} ms` })).default(def).describe(doc);

/** A duration with an upper bound too, for deadlines where "longer" stops being "safer". */
const boundedDurationMs = (minMs: number, maxMs: number, def: number, doc: string) => {
  const error = `must be a duration from ${minMs} ms to ${maxMs} ms, such as 500ms or 10s`;
  return z.preprocess(toDurationMs, z.number({ error }).int({ error }).min(minMs, { error }).max(maxMs, { error })).default(def).describe(doc);
};

const bool = (def: boolean, doc: string) => z.preprocess(toBoolean, z.boolean({ error: "must be true or false" })).default(def).describe(doc);

const str = (def: string, doc: string) => z.string({ error: "must be a string" }).default(def).describe(doc);

const optStr = (doc: string) => z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }).optional().describe(doc);

const url = (doc: string) =>
  z.string({ error: "must be an http:// or https:// URL" }).regex(/^https?:\/\/[^\s/]+/, { error: "must be an http:// or https:// URL" }).optional().describe(doc);

const httpsUrl = (def: string, doc: string) =>
  z.string({ error: "must be an https:// URL" }).regex(/^https:\/\/[^\s/]+/, { error: "must be an https:// URL" }).default(def).describe(doc);

const list = <T extends string>(def: T[], doc: string, item: z.ZodType<T>) =>
  z.preprocess(toList, z.array(item, { error: "must be a comma-separated list" })).default(def).describe(doc);

const names = z.string().min(1, { error: "must not contain empty names" });

const oneOf = <const T extends readonly [string, ...string[]]>(values: T, def: T[number], doc: string) =>
  z.enum(values, { error: `must be one of ${values.join(", ")}` }).default(def).describe(doc);

// Generic T hides that every field has a default, so `{}` is cast; the parse fills each default.
const section = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict().prefault({} as z.input<z.ZodObject<T, z.core.$strict>>);

export const configSchema = z
  .object({
    kubernetes: section({
      kubeconfig: optStr("kubeconfig file; when unset, in-cluster config if KUBERNETES_SERVICE_HOST is set, else the default kubeconfig"),
      context: optStr("kubeconfig context to use"),
      namespaces: list([], "namespaces to watch (empty: all namespaces)", names),
      requestTimeoutMs: boundedDurationMs(100, 60_000, 10_000, "deadline of one Kubernetes API request (upstreams, namespaces, Events, Secret reads, Leases; writes also ask the API server to give up after it). With leader election, upstream writes get at most leader.leaseDurationMs - leader.renewDeadlineMs - 500ms, and Lease calls at most the renew deadline, so no write lands under another leader"),
    }),
    status: section({
      key: z
        .string()
        .regex(/^[a-z0-9]([a-z0-9.:-]*[a-z0-9])?$/, { error: "must be a lower-case key such as credbroker" })
        .refine((k) => k !== "gloo" && !k.endsWith(":gloo"), { error: "must not be the Gloo controller's own status key" })
        .default("credbroker")
        .describe("key under status.statuses that credbroker writes (never Gloo's own)"),
      heartbeatIntervalMs: durationMs(1000, 600_000, "how often a status whose only change is its last-verified time is rewritten"),
    }),
    secrets: section({
      sources: list(["kubernetes"], "secret sources in the order they are tried: kubernetes, vault, or both", z.enum(["kubernetes", "vault"], { error: "must be kubernetes or vault" })),
      refPolicy: z
        .string()
        .regex(/^(any|same-namespace|allow:[a-z0-9-]+(,[a-z0-9-]+)*)$/, { error: "must be any, same-namespace or allow:<ns>[,<ns>...]" })
        .default("any")
        .describe("which namespaces an upstream's secretRef may point at: any, same-namespace, or allow:ns1,ns2"),
      cacheSize: int(0, 1_000_000, 0, "parsed credentials kept in memory per secret source; 0 = sized from the fleet (a quarter more than the distinct secrets the upstreams use, at least 1,000); least recently used are dropped"),
    }),
    vault: section({
      address: url("Vault address, e.g. https://vault.vault:8200"),
      namespace: optStr("Vault Enterprise namespace (X-Vault-Namespace)"),
      caFile: optStr("PEM file with the CA that signs Vault's certificate"),
      clientCertFile: optStr("client certificate for Vault TLS authentication"),
      clientKeyFile: optStr("private key of the client certificate"),
      serverName: optStr("TLS server name to verify instead of the address host"),
      insecureSkipVerify: bool(false, "skip TLS verification (never from the environment; config file or flag only)"),
      authMethod: oneOf(["token", "kubernetes", "approle"], "kubernetes", "Vault auth method"),
      tokenFile: optStr("file holding a Vault token (auth method token)"),
      authMount: optStr("mount path of the auth method (default: kubernetes or approle)"),
      role: optStr("Vault role (auth method kubernetes)"),
      jwtFile: str("/var/run/secrets/kubernetes.io/serviceaccount/token", "service-account token file, re-read at every login"),
      roleId: optStr("AppRole role_id"),
      secretIdFile: optStr("file holding the AppRole secret_id"),
      kvMount: str("secret", "KV mount that holds Gloo's secrets"),
      kvVersion: z.preprocess(toInteger, z.union([z.literal(1), z.literal(2)], { error: "must be 1 or 2" })).default(2).describe("KV engine version"),
      rootKey: str("gloo", "Gloo's Vault root key"),
      pathTemplate: optStr("custom secret path, e.g. kv/teams/{namespace}/{name} (overrides mount/rootKey layout)"),
      pollIntervalMs: durationMs(1000, 300_000, "how often cached Vault secrets are re-read to notice rotation"),
      requestTimeoutMs: durationMs(100, 10_000, "timeout of one Vault request"),
    }),
    aws: section({
      stsEndpoint: url("STS endpoint override (default: the regional endpoint of the upstream's region)"),
      lambdaEndpoint: url("Lambda endpoint override"),
      allowAmbientCredentials: bool(false, "verify upstreams without secretRef with the broker's own credentials (IRSA, default chain)"),
      lambdaRequestsPerSecond: int(1, 15, 10, "Lambda control-plane calls per second per account and region (AWS quota is 15)"),
      aliasConcurrency: int(1, 64, 4, "ListAliases calls in flight per sweep"),
      requestTimeoutMs: boundedDurationMs(100, 60_000, 10_000, "deadline of one STS or Lambda request (connection included); a call past it is a retryable Timeout"),
    }),
    azure: section({
      authorityHost: httpsUrl("https://login.microsoftonline.com", "Entra ID authority host (China: https://login.chinacloudapi.cn, US Gov: https://login.microsoftonline.us)"),
      armEndpoint: httpsUrl("https://management.azure.com", "Azure Resource Manager endpoint"),
      disableInstanceDiscovery: bool(false, "skip Entra instance discovery (needed for private or emulated authorities)"),
      requestTimeoutMs: boundedDurationMs(100, 60_000, 10_000, "deadline of one Entra or ARM request, until the answer's headers; a call past it is retried (Entra's reads as ProviderUnavailable, since MSAL keeps no cause)"),
    }),
    tls: section({
      extraCaFiles: list([], "extra PEM CA files trusted for cloud endpoints", names),
    }),
    discovery: section({
      mode: oneOf(["whitelist", "blacklist", "disabled"], "whitelist", "which upstreams get function discovery"),
      maxFunctions: int(1, 10_000, 500, "functions published per upstream at most"),
    }),
    controller: section({
      concurrency: int(1, 256, 16, "reconciles in flight at once (16 keeps the default start rate, 100 a second, going at cloud answers of about 150 ms)"),
      globalRatePerSecond: int(1, 10_000, 100, "reconciles that call the clouds started per second at most, routine re-verification excepted (it has its own budget: 2 × upstreams ÷ controller.verifyIntervalMs, never below this); new and changed upstreams, forced re-verifications and every retry stay under it, but a pass whose every cloud answer was shared gives its token back (retries never do)"),
      verifyIntervalMs: durationMs(10_000, 300_000, "how often each upstream is re-verified (jittered)"),
      cacheTtlMs: durationMs(1000, 240_000, "how long a verification or discovery result is shared"),
      shareResults: bool(true, "share verification and discovery results between upstreams with the same credentials, in flight and for controller.cacheTtlMs; false makes every pass call the clouds itself (the naive baseline the benchmarks measure against, not for production)"),
      backoffMinMs: durationMs(10, 1000, "first retry delay after a transient failure"),
      backoffMaxMs: durationMs(100, 300_000, "longest retry delay"),
      watchStallMs: durationMs(1000, 300_000, "restart a watch that has been silent this long"),
      reconcileTimeoutMs: durationMs(1000, 30_000, "a reconcile still running after this long may no longer write and is retried (its cloud calls go on into the shared caches)"),
    }),
    leader: section({
      enabled: bool(true, "elect a leader with a coordination.k8s.io Lease"),
      namespace: str("gloo-system", "namespace of the Lease"),
      name: str("credbroker", "name of the Lease (shards append -<n>)"),
      leaseDurationMs: durationMs(1000, 15_000, "lease duration"),
      renewDeadlineMs: durationMs(500, 10_000, "the leader gives up if it cannot renew within this"),
      retryPeriodMs: durationMs(100, 2_000, "how often candidates retry"),
      shards: int(1, 64, 1, "number of shards (leases) the fleet is split over"),
      maxShards: int(0, 64, 0, "most shards one replica leads; 0: its fair share, ceil(shards / replicas alive), counted from each replica's member Lease <name>-member-<hash> (renewed every retry period; deleted after 10 lease durations unrenewed). Shards beyond what the live replicas may lead together stay unled"),
      identity: optStr("this replica's identity (default: hostname)"),
    }),
    http: section({
      host: str("0.0.0.0", "address the HTTP interface binds to"),
      port: int(0, 65535, 8080, "port of the HTTP API (and of the operational endpoints unless http.opsPort is set)"),
      opsPort: z.preprocess(toInteger, z.number({ error: "must be a whole number from 0 to 65535, in decimal digits" }).int({ error: "must be a whole number from 0 to 65535, in decimal digits" }).min(0, { error: "must be a whole number from 0 to 65535, in decimal digits" }).max(65535, { error: "must be a whole number from 0 to 65535, in decimal digits" })).optional().describe("serve /healthz, /readyz and /metrics on this port instead, on the same host (unset: on http.port)"),
      auth: oneOf(["kubernetes", "token-file", "none"], "kubernetes", "how API callers authenticate: kubernetes (TokenReview and SubjectAccessReview), token-file, or none (loopback only); /healthz, /readyz and /metrics are open"),
      tokenFile: optStr("file with one bearer token per line, optionally followed by the namespaces it may act on (auth token-file); re-read when it changes"),
      tokenAudiences: list([], "audiences a caller's token must carry (auth kubernetes; empty: the API server's own)", names),
      authCacheMs: boundedDurationMs(0, 300_000, 10_000, "how long a TokenReview or SubjectAccessReview answer is reused (0: never)"),
      allowAnonymousOnLoopback: bool(false, "accept API calls without a token (auth none), only when http.host is a loopback address"),
      requestsPerMinute: int(1, 1_000_000, 60, "API requests per caller per minute (bursts of a sixth of it); more answer 429 with Retry-After"),
      bodyLimitBytes: int(128, 1_048_576, 16_384, "largest API request body; larger answer 413"),
      maxQueuedReverify: int(1, 1_000_000, 5_000, "re-verifications the API may have queued at once; a request that would pass it answers 429"),
    }),
    log: section({
      level: oneOf(["trace", "debug", "info", "warn", "error", "fatal", "silent"], "info", "log level"),
    }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

export interface SettingInfo {
  path: string;
  env: string;
  flag: string;
  description: string;
  default: unknown;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodPrefault) s = s.unwrap() as z.ZodType;
    else return s;
  }
}

const envName = (path: string) => "CREDBROKER_" + path.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/\./g, "_").toUpperCase();
const flagName = (path: string) => "--" + path.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/\./g, "-").toLowerCase();

/** Every leaf setting with its environment variable, flag, description and default. Pure. */
export function listSettings(): SettingInfo[] {
  const out: SettingInfo[] = [];
  for (const [sectionName, sectionSchema] of Object.entries(configSchema.shape)) {
    const inner = unwrap(sectionSchema as z.ZodType);
    if (!(inner instanceof z.ZodObject)) continue;
    const shape: Record<string, z.ZodType> = inner.shape;
    for (const [key, leaf] of Object.entries(shape)) {
      const path = `${sectionName}.${key}`;
      const def = leaf instanceof z.ZodDefault ? leaf.def.defaultValue : undefined;
      out.push({ path, env: envName(path), flag: flagName(path), description: leaf.description ?? "", default: def });
    }
  }
  return out;
}
