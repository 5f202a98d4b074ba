// Shared helpers for the Kubernetes emulator tests: client-node configs, Status extraction, and awaiting watch events.
import { request as httpsRequest } from "node:https";
import { ApiException, KubeConfig, Watch } from "@kubernetes/client-node";
import type { KubeEmulator } from "../../../src/sandbox/kube/index.js";

export const UPSTREAM_API = { group: "gloo.solo.io", version: "v1", plural: "upstreams" } as const;

export function kubeConfigFor(emu: KubeEmulator, token: string, namespace = "default"): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(emu.kubeconfig({ token, namespace }));
  return kc;
}

/** A KubeConfig that also asks for metadata only, as the broker's Secret watch does (Watch takes no headers of its own). */
export class MetadataOnlyKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(context: Parameters<KubeConfig["applySecurityAuthentication"]>[0]): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1");
  }
}

/** The Kubernetes Status carried by a client-node ApiException. */
export function statusOf(err: unknown): { code: number; reason?: string; message?: string; details?: Record<string, unknown> } {
  if (!(err instanceof ApiException)) throw err instanceof Error ? err : new Error(String(err));
  const body: unknown = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
  return { code: err.code, ...(body as object) };
}

export async function expectStatus(promise: Promise<unknown>): Promise<ReturnType<typeof statusOf>> {
  try {
    await promise;
  } catch (err) {
    return statusOf(err);
  }
  throw new Error("expected the call to fail with a Kubernetes Status");
}

/** The parts of a watched object (or ERROR Status) the tests look at. */
export interface WatchedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; generation?: number; labels?: Record<string, string> };
  code?: number;
  reason?: string;
  [key: string]: unknown;
}

export interface WatchEvent {
  type: string;
  object: WatchedObject;
}

/** A running client-node watch that records events and lets a test await the n-th matching one. */
export class RecordedWatch {
  readonly events: WatchEvent[] = [];
  ended: unknown = undefined;
  private controller: AbortController | undefined;
  private waiters: Array<() => void> = [];

  static async start(kc: KubeConfig, path: string, query: Record<string, string | number | boolean>): Promise<RecordedWatch> {
    const w = new RecordedWatch();
    w.controller = await new Watch(kc).watch(
      path,
      query,
      (type, object) => {
        w.events.push({ type, object });
        w.notify();
      },
      (err) => {
        w.ended = err ?? "closed";
        w.notify();
      },
    );
    return w;
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves when `predicate` holds over the recorded events (checked on every event); rejects after `timeoutMs`. */
  async until(predicate: (events: WatchEvent[]) => boolean, timeoutMs = 5_000): Promise<WatchEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`watch condition not met; got ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events;
  }

  async untilEnded(timeoutMs = 5_000): Promise<unknown> {
    await this.until(() => this.ended !== undefined, timeoutMs);
    return this.ended;
  }

  stop(): void {
    this.controller?.abort();
  }
}

export function upstream(namespace: string, name: string, spec: Record<string, unknown> = { aws: { region: "us-east-1" } }, labels: Record<string, string> = {}): Record<string, unknown> {
  return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { name, namespace, labels }, spec };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed body; `any` on purpose: tests probe arbitrary wire JSON and assert on it field by field. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: () => any;
}

/** One request over the emulator's TLS (trusting its CA), for wire details client-node hides. */
export function rawRequest(
  emu: KubeEmulator,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; contentType?: string; accept?: string; signal?: AbortSignal } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
  if (options.accept !== undefined) headers["accept"] = options.accept;
  const payload = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  if (payload !== undefined) {
    headers["content-type"] = options.contentType ?? "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const tls = emu.caPem !== undefined ? { ca: emu.caPem } : {};
    const req = httpsRequest(new URL(path, emu.url), { method, headers, ...tls, ...(options.signal !== undefined ? { signal: options.signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: (): unknown => JSON.parse(text) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}
