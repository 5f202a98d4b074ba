// etcd for the control plane: started on loopback with fsync off, and driven through its HTTP gRPC gateway.
import { join } from "node:path";
import { spawnServer, waitReady, type ServerProcess } from "./server-process.js";

const START_TIMEOUT_MS = 30_000;

/** Starts a one-member etcd on `clientUrl`/`peerUrl` and waits for /health; throws with its log tail. */
export async function startEtcd(binary: string, dir: string, logDir: string, clientUrl: string, peerUrl: string, running: Set<ServerProcess>): Promise<void> {
  const args = [
    "--name=credbroker",
    `--data-dir=${join(dir, "etcd-data")}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=credbroker=${peerUrl}`,
    "--initial-cluster-state=new",
    "--unsafe-no-fsync",
    "--log-level=warn",
  ];
  const etcd = spawnServer("etcd", binary, args, join(logDir, "etcd.log"), running);
  await waitReady(etcd, START_TIMEOUT_MS, async () => {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(2_000) });
    return res.ok && ((await res.json()) as { health?: string }).health === "true";
  });
}

/** One call to etcd's gRPC gateway (JSON; int64 fields are strings, bytes base64). Throws on a non-2xx. */
async function etcdCall(etcdUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${etcdUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`etcd ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const b64 = (s: string): string => Buffer.from(s).toString("base64");

/** Moves the revision on by `count` with keys under /credbroker-noise/ (outside the apiserver's /registry). I/O. */
export async function etcdPutNoise(etcdUrl: string, count: number): Promise<void> {
  // Sequential puts: each moves the revision by one (a txn of many puts would move it by one in all).
  for (let i = 0; i < count; i++) {
    await etcdCall(etcdUrl, "/v3/kv/put", { key: b64(`/credbroker-noise/${i}`), value: b64(String(Date.now())) });
  }
}

/** Compacts at the current revision and returns it; idempotent. Throws on an etcd error. */
export async function etcdCompact(etcdUrl: string): Promise<number> {
  const range = await etcdCall(etcdUrl, "/v3/kv/range", { key: b64("/credbroker-noise/"), limit: "1" });
  const revision = Number((range["header"] as { revision?: string } | undefined)?.revision);
  if (!Number.isSafeInteger(revision)) throw new Error("etcd range answered no header revision");
  try {
    await etcdCall(etcdUrl, "/v3/kv/compaction", { revision: String(revision), physical: true });
  } catch (err) {
    // Already compacted at (or past) this revision: the goal holds.
    if (!(err instanceof Error && err.message.includes("required revision has been compacted"))) throw err;
  }
  return revision;
}
