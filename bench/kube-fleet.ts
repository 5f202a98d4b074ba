// Fleet-scale measurement of the Kubernetes emulator with client-node: seed 20,000 upstreams, list them paged, watch from 0, patch a burst.
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, Watch } from "@kubernetes/client-node";
import { Agent, request } from "node:https";
import { mkdirSync, writeFileSync } from "node:fs";
import { PooledKubeConfig } from "../src/runtime/kube/pooled-kube-config.js";
import { createKubeEmulator } from "../src/sandbox/kube/index.js";

const FLEET = Number(process.env["FLEET"] ?? 20_000);
const NAMESPACES = 50;
const PAGE = 500;
const PATCHES = 1_000;
const CONCURRENCY = 16;

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function* fleet(): Generator<Record<string, unknown>> {
  for (let ns = 0; ns < NAMESPACES; ns++) yield { apiVersion: "v1", kind: "Namespace", metadata: { name: `team-${ns}` } };
  for (let i = 0; i < FLEET; i++) {
    const ns = `team-${i % NAMESPACES}`;
    yield {
      apiVersion: "gloo.solo.io/v1",
      kind: "Upstream",
      metadata: { name: `lambda-${i}`, namespace: ns, labels: { fleet: "bench" }, annotations: { "discovery.solo.io/function_discovery": "enabled" } },
      spec: { aws: { region: "us-east-1", secretRef: { name: "aws-creds", namespace: ns }, lambdaFunctions: [{ logicalName: "f", lambdaFunctionName: "f", qualifier: "$LATEST" }] } },
    };
  }
}

const lines: string[] = [];
function report(line: string): void {
  console.log(line);
  lines.push(line);
}

const emu = await createKubeEmulator({ historyLimit: FLEET + 1_000 });
try {
  const kc = new KubeConfig();
  kc.loadFromString(emu.kubeconfig({ token: emu.adminToken }));
  const api = kc.makeApiClient(CustomObjectsApi);

  let t = process.hrtime.bigint();
  const seeded = emu.applyMany(fleet());
  report(`seed      ${seeded} objects in-process: ${ms(t).toFixed(0)} ms`);

  t = process.hrtime.bigint();
  let pages = 0;
  let listed = 0;
  let token: string | undefined;
  let listRv = "";
  do {
    const page = await api.listClusterCustomObject({ group: "gloo.solo.io", version: "v1", plural: "upstreams", limit: PAGE, ...(token !== undefined ? { _continue: token } : {}) });
    pages++;
    listed += (page.items as unknown[]).length;
    token = page.metadata?.continue || undefined;
    listRv = page.metadata?.resourceVersion ?? listRv;
  } while (token !== undefined);
  const listMs = ms(t);
  report(`list      ${listed} upstreams in ${pages} pages of ${PAGE}: ${listMs.toFixed(0)} ms (${((pages / listMs) * 1000).toFixed(0)} req/s, ${((listed / listMs) * 1000).toFixed(0)} objects/s)`);

  t = process.hrtime.bigint();
  let added = 0;
  await new Promise<void>((resolve, reject) => {
    let controller: AbortController | undefined;
    void new Watch(kc)
      .watch(
        "/apis/gloo.solo.io/v1/upstreams",
        { resourceVersion: "0" },
        (type) => {
          if (type === "ADDED" && ++added === FLEET) {
            controller?.abort();
            resolve();
          }
        },
        (err) => {
          if (added < FLEET) reject(err instanceof Error ? err : new Error(`watch ended after ${added} events`));
        },
      )
      .then((c) => (controller = c), reject);
  });
  const watchMs = ms(t);
  report(`watch     ${added} ADDED events from resourceVersion 0: ${watchMs.toFixed(0)} ms (${((added / watchMs) * 1000).toFixed(0)} events/s)`);

  const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
  t = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < PATCHES) {
      const i = next++;
      await api.patchNamespacedCustomObject(
        { group: "gloo.solo.io", version: "v1", plural: "upstreams", namespace: `team-${i % NAMESPACES}`, name: `lambda-${i}`, body: { status: { statuses: { credbroker: { state: "Accepted", reportedBy: "credbroker" } } } } },
        mergePatch,
      );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const patchMs = ms(t);
  report(`patch     ${PATCHES} status merge patches, ${CONCURRENCY} in flight: ${patchMs.toFixed(0)} ms (${((PATCHES / patchMs) * 1000).toFixed(0)} req/s)`);
  // client-node 2 builds a new TLS dispatcher per request (no connection reuse), so the same burst over
  // keep-alive connections shows what the emulator itself sustains.
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ...(emu.caPem !== undefined ? { ca: emu.caPem } : {}) });
  const body = JSON.stringify({ status: { statuses: { credbroker: { state: "Rejected", reportedBy: "credbroker" } } } });
  const rawPatch = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const url = new URL(`/apis/gloo.solo.io/v1/namespaces/team-${i % NAMESPACES}/upstreams/lambda-${i}`, emu.url);
      const headers = { authorization: `Bearer ${emu.adminToken}`, "content-type": PatchStrategy.MergePatch, "content-length": String(Buffer.byteLength(body)) };
      const req = request(url, { method: "PATCH", agent, headers }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`patch answered ${res.statusCode}`))));
      });
      req.on("error", reject);
      req.end(body);
    });
  t = process.hrtime.bigint();
  next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < PATCHES) await rawPatch(next++);
    }),
  );
  const rawMs = ms(t);
  agent.destroy();
  report(`patch     ${PATCHES} status merge patches over keep-alive (node:https): ${rawMs.toFixed(0)} ms (${((PATCHES / rawMs) * 1000).toFixed(0)} req/s)`);
  // The broker's own client: client-node with the shared keep-alive dispatcher (src/controller/pooled-kube-config.ts).
  const pooled = new PooledKubeConfig();
  pooled.loadFromString(emu.kubeconfig({ token: emu.adminToken }));
  const pooledApi = pooled.makeApiClient(CustomObjectsApi);
  t = process.hrtime.bigint();
  next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < PATCHES) {
        const i = next++;
        await pooledApi.patchNamespacedCustomObject(
          { group: "gloo.solo.io", version: "v1", plural: "upstreams", namespace: `team-${i % NAMESPACES}`, name: `lambda-${i}`, body: { status: { statuses: { credbroker: { state: "Warning", reportedBy: "credbroker" } } } } },
          mergePatch,
        );
      }
    }),
  );
  const pooledMs = ms(t);
  await pooled.closeConnections();
  report(`patch     ${PATCHES} status merge patches, client-node + PooledKubeConfig: ${pooledMs.toFixed(0)} ms (${((PATCHES / pooledMs) * 1000).toFixed(0)} req/s)`);
  report(`requests  ${emu.requestCount} served; list resourceVersion ${listRv}`);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(
    "bench/results/kube-fleet.md",
    [`# Kubernetes emulator at fleet scale (${new Date().toISOString().slice(0, 10)}, ${FLEET} upstreams, 2-core machine)`, "", "```", ...lines, "```", ""].join("\n"),
  );
} finally {
  await emu.close();
}
