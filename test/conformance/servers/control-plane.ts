// Starts a real etcd and kube-apiserver on loopback for the conformance tier, and stops exactly the processes it started.
//
// Layout of one control plane: a temp dir under os.tmpdir() holding the PKI (CA, serving certificate,
// system:masters client certificate, service-account key pair), the admin kubeconfig, the audit policy
// and JSON-lines audit log, etcd's data dir and each process's log. There is no controller-manager:
// namespaces never finish deleting and ServiceAccounts are not created for you (serviceAccountToken()
// creates the ones it needs).
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderKubeconfig } from "../../../src/sandbox/kube/kubeconfig.js";
import { AUDIT_POLICY, completedResourceRequest, readAuditLog, type AuditEvent, type RawAuditEvent } from "./audit.js";
import { etcdCompact, etcdPutNoise, startEtcd } from "./etcd.js";
import { adminKubeconfig, writePki } from "./pki.js";
import { builtServerPath } from "./build-cache.js";
import { cleanUpOnExit, freePorts, logTail, sleep, spawnServer, waitReady, type ServerProcess } from "./server-process.js";

export type { AuditEvent, RawAuditEvent } from "./audit.js";

export interface ApiResponse {
  status: number;
  /** The body parsed as JSON, or the raw text when it is not JSON. */
  body: unknown;
}

export interface ApiRequest {
  method: string;
  /** Path and query, e.g. `/api/v1/namespaces`. */
  path: string;
  body?: unknown;
  /** Bearer token; without one the request uses the system:masters client certificate. */
  token?: string;
  userAgent?: string;
  timeoutMs?: number;
}

export interface ControlPlane {
  /** `https://127.0.0.1:<port>`; stays the same across killApiServer()/startApiServer(). */
  server: string;
  /** CA of the serving certificate (and of the admin client certificate). */
  caFile: string;
  caPem: string;
  /** Path of a kubeconfig file for a system:masters client certificate. */
  adminKubeconfig: string;
  adminKubeconfigYaml(): string;
  /** Kubeconfig YAML text authenticating with `token`. Pure. */
  kubeconfigForToken(token: string, namespace?: string): string;
  /** JSON-lines audit log: level Metadata for every request, RequestReceived stage omitted. */
  auditLogPath: string;
  /** Completed resource requests audited so far, in log order (blocking mode: written as each request ends). */
  readAudit(): AuditEvent[];
  /** Every event in the audit log so far, unfiltered. */
  readAuditRaw(): RawAuditEvent[];
  /** One HTTPS request to the apiserver, as admin or with a bearer token. Never throws on an HTTP status. */
  request(req: ApiRequest): Promise<ApiResponse>;
  /** A TokenRequest token for namespace/name; creates the namespace and ServiceAccount when missing. */
  serviceAccountToken(namespace: string, name: string, opts?: { audiences?: string[]; expirationSeconds?: number }): Promise<string>;
  /** SIGKILLs the apiserver (only) and waits for it to exit; etcd keeps running. Idempotent. */
  killApiServer(): Promise<void>;
  /** Starts the apiserver again with the same flags, port and certificates, and waits for /readyz. */
  startApiServer(): Promise<void>;
  /** Moves etcd's revision on by `count`, writing keys outside /registry. */
  etcdPutNoise(count: number): Promise<void>;
  /** Compacts etcd at its current revision, so older resourceVersions answer 410; returns that revision. */
  etcdCompact(): Promise<number>;
  /** Directory of etcd.log and kube-apiserver.log. */
  logDir: string;
  /** Stops both processes (SIGTERM, SIGKILL after a grace period), waits for them, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Where the process logs go, kept after stop(); default: inside the temp dir (removed by stop()). */
  logDir?: string;
}

export interface RealServerBinaries {
  kubeApiserver: string;
  etcd: string;
}

const ISSUER = "https://kubernetes.default.svc.cluster.local";
const START_TIMEOUT_MS = 90_000;

/** Where build.sh puts the binaries (see builtServerPath). Reads files; no side effects. */
export function realServerPaths(): RealServerBinaries {
  return { kubeApiserver: builtServerPath("kube-apiserver"), etcd: builtServerPath("etcd") };
}

/** Whether both binaries are built. Reads files only. */
export function realServersAvailable(): boolean {
  const paths = realServerPaths();
  return existsSync(paths.kubeApiserver) && existsSync(paths.etcd);
}

/** The binaries' paths; throws an Error naming the build command when either is missing. */
export function realServerBinaries(): RealServerBinaries {
  const paths = realServerPaths();
  const missing = Object.values(paths).filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(`real servers not built (missing ${missing.join(", ")}): run \`bash test/conformance/servers/build.sh\` (cold: several minutes)`);
  }
  return paths;
}

/**
 * Starts etcd, then kube-apiserver, on free loopback ports; resolves once /readyz answers ok.
 * Throws (after stopping whatever it started) with the tail of the failing server's log.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = realServerBinaries();
  const dir = await mkdtemp(join(tmpdir(), "credbroker-cp-"));
  const logDir = options.logDir ?? dir;
  await mkdir(logDir, { recursive: true });
  const running = new Set<ServerProcess>();
  // A test run that crashes or exits early never leaves servers behind.
  const offExit = cleanUpOnExit(running, dir);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // The apiserver first (it was added last), so it never sees its etcd vanish.
      const failures: unknown[] = [];
      for (const p of [...running].reverse()) await p.stop().catch((err: unknown) => failures.push(err));
      offExit();
      if (failures.length > 0) throw new AggregateError(failures, "control plane did not stop cleanly");
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = await freePorts();
    const pki = await writePki(dir);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    await startEtcd(binaries.etcd, dir, logDir, etcdUrl, `http://127.0.0.1:${etcdPeerPort}`, running);
    const server = `https://127.0.0.1:${apiPort}`;
    const auditLogPath = join(dir, "audit.log");
    const policyPath = join(dir, "audit-policy.yaml");
    await writeFile(policyPath, AUDIT_POLICY);
    const apiArgs = apiserverArgs({ etcdUrl, apiPort, dir, auditLogPath, policyPath });
    const adminYaml = adminKubeconfig(server, pki);
    const adminKubeconfigPath = join(dir, "admin.kubeconfig");
    await writeFile(adminKubeconfigPath, adminYaml, { mode: 0o600 });
    const tls = { ca: pki.ca.certificatePem, cert: pki.admin.certificatePem, key: pki.admin.privateKeyPem };
    const request = (req: ApiRequest): Promise<ApiResponse> => apiRequest(server, tls, req);

    let apiserver: ServerProcess | undefined;
    const startApiServer = async (): Promise<void> => {
      if (apiserver?.running() === true) throw new Error("kube-apiserver is already running");
      // Go sets SO_REUSEADDR, so TIME_WAIT rarely bites; a few retries cover a port not yet released.
      for (let attempt = 1; ; attempt++) {
        apiserver = spawnServer("kube-apiserver", binaries.kubeApiserver, apiArgs, join(logDir, "kube-apiserver.log"), running);
        try {
          await waitReady(apiserver, START_TIMEOUT_MS, async () => (await request({ method: "GET", path: "/readyz", timeoutMs: 2_000 })).status === 200);
          return;
        } catch (err) {
          await apiserver.stop();
          if (attempt >= 4 || !/address already in use/.test(logTail(apiserver))) throw err;
          await sleep(1_000);
        }
      }
    };
    await startApiServer();

    return {
      server,
      caFile: pki.caFile,
      caPem: pki.ca.certificatePem,
      adminKubeconfig: adminKubeconfigPath,
      adminKubeconfigYaml: () => adminYaml,
      kubeconfigForToken: (token, namespace) =>
        renderKubeconfig({ server, caPem: pki.ca.certificatePem }, { token, name: "credbroker-conformance", ...(namespace !== undefined ? { namespace } : {}) }),
      auditLogPath,
      readAudit: () => readAuditLog(auditLogPath).flatMap(completedResourceRequest),
      readAuditRaw: () => readAuditLog(auditLogPath),
      request,
      serviceAccountToken: (namespace, name, opts = {}) => serviceAccountToken(request, namespace, name, opts),
      killApiServer: async () => {
        await apiserver?.killAndWait();
      },
      startApiServer,
      etcdPutNoise: (count) => etcdPutNoise(etcdUrl, count),
      etcdCompact: () => etcdCompact(etcdUrl),
      logDir,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The apiserver's flags; the same on every (re)start, so URLs, certificates and tokens stay valid. */
function apiserverArgs(o: { etcdUrl: string; apiPort: number; dir: string; auditLogPath: string; policyPath: string }): string[] {
  const f = (name: string): string => join(o.dir, name);
  return [
    `--etcd-servers=${o.etcdUrl}`,
    `--secure-port=${o.apiPort}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--tls-cert-file=${f("serving.crt")}`,
    `--tls-private-key-file=${f("serving.key")}`,
    `--client-ca-file=${f("ca.crt")}`,
    "--authorization-mode=RBAC",
    `--service-account-issuer=${ISSUER}`,
    `--service-account-key-file=${f("sa.pub")}`,
    `--service-account-signing-key-file=${f("sa.key")}`,
    `--api-audiences=${ISSUER}`,
    "--service-cluster-ip-range=10.0.0.0/24",
    `--audit-policy-file=${o.policyPath}`,
    `--audit-log-path=${o.auditLogPath}`,
    "--audit-log-format=json",
    "--audit-log-mode=blocking",
    "--profiling=false",
  ];
}

function apiRequest(server: string, tls: { ca: string; cert: string; key: string }, req: ApiRequest): Promise<ApiResponse> {
  const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
  const headers: Record<string, string> = { accept: "application/json", "user-agent": req.userAgent ?? "credbroker-conformance-harness" };
  if (payload !== undefined) headers["content-type"] = "application/json";
  if (req.token !== undefined) headers["authorization"] = `Bearer ${req.token}`;
  return new Promise((resolve, reject) => {
    const r = httpsRequest(
      new URL(req.path, server),
      {
        method: req.method,
        headers,
        ca: tls.ca,
        ...(req.token === undefined ? { cert: tls.cert, key: tls.key } : {}),
        signal: AbortSignal.timeout(req.timeoutMs ?? 15_000),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // Not JSON (/readyz answers "ok").
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    r.on("error", reject);
    r.end(payload);
  });
}

/** Namespace and ServiceAccount (created when missing, as admin), then a TokenRequest. Throws on any other answer. */
async function serviceAccountToken(
  request: (req: ApiRequest) => Promise<ApiResponse>,
  namespace: string,
  name: string,
  opts: { audiences?: string[]; expirationSeconds?: number },
): Promise<string> {
  const ensure = async (path: string, body: unknown): Promise<void> => {
    const res = await request({ method: "POST", path, body });
    if (res.status !== 201 && res.status !== 409) throw new Error(`POST ${path} answered ${res.status}`);
  };
  await ensure("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  await ensure(`/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } });
  const path = `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`;
  const spec = { ...(opts.audiences !== undefined ? { audiences: opts.audiences } : {}), ...(opts.expirationSeconds !== undefined ? { expirationSeconds: opts.expirationSeconds } : {}) };
  const res = await request({ method: "POST", path, body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec } });
  const token = (res.body as { status?: { token?: string } }).status?.token;
  if (res.status !== 201 || token === undefined) throw new Error(`TokenRequest for ${namespace}/${name} answered ${res.status}`);
  return token;
}

