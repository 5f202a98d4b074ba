// The ops endpoints on a free loopback port: health, readiness, metrics, and the request counter they feed.
import { afterEach, describe, expect, it } from "vitest";
import { createOpsApp, listenHttp as listenOps } from "../../src/http/app.js";
import type { OpsDeps } from "../../src/http/ops-server.js";
import { Metrics } from "../../src/observability/metrics.js";

const servers: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(overrides: Partial<OpsDeps> = {}): Promise<{ url: string; metrics: Metrics }> {
  const metrics = new Metrics();
  const ops = await listenOps(
    createOpsApp({ ready: () => true, renderMetrics: () => metrics.render(), metricsContentType: metrics.registry.contentType, httpRequests: metrics.httpRequests, ...overrides }),
    "127.0.0.1",
    0,
  );
  servers.push(ops);
  return { url: ops.url, metrics };
}

/** `credbroker_http_requests_total` from the rendered registry, as "route code" → count. */
async function requestCounts(metrics: Metrics): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await metrics.render()).split("\n")) {
    const m = /^credbroker_http_requests_total\{route="([^"]*)",code="(\d+)"\} (\d+)$/.exec(line);
    if (m !== null) out.set(`${m[1]} ${m[2]}`, Number(m[3]));
  }
  return out;
}

/**
 * The counts once `n` requests are counted. A response's "finish" can run just after the client has
 * read it, so the last request may be counted a moment later.
 */
async function countsAfter(metrics: Metrics, n: number): Promise<Record<string, number>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const counts = await requestCounts(metrics);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    if (total >= n || Date.now() > deadline) return Object.fromEntries(counts);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends a request and reads its body, so the server has answered in full. */
async function hit(url: string, init?: RequestInit): Promise<number> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
}

describe("ops server", () => {
  it("counts requests by matched route and status code", async () => {
    let ready = false;
    const { url, metrics } = await start({ ready: () => ready });
    expect(await hit(`${url}/healthz`)).toBe(200);
    expect(await hit(`${url}/healthz`)).toBe(200);
    expect(await hit(`${url}/readyz`)).toBe(503);
    ready = true;
    expect(await hit(`${url}/readyz`)).toBe(200);
    expect(await hit(`${url}/metrics`)).toBe(200);
    expect(await hit(`${url}/healthz`, { method: "HEAD" })).toBe(200);
    expect(await countsAfter(metrics, 6)).toEqual({ "/healthz 200": 3, "/readyz 503": 1, "/readyz 200": 1, "/metrics 200": 1 });
  });

  it("labels unknown paths and unserved methods as other, so a scanner cannot grow the label set", async () => {
    const { url, metrics } = await start();
    expect(await hit(`${url}/wp-admin/setup.php`)).toBe(404);
    expect(await hit(`${url}/healthz/extra`)).toBe(404);
    expect(await hit(`${url}/random-${Date.now()}`)).toBe(404);
    expect(await hit(`${url}/healthz`, { method: "POST" })).toBe(405);
    expect(await countsAfter(metrics, 4)).toEqual({ "other 404": 3, "/healthz 405": 1 });
  });

  it("counts a failed metrics render as a 500 on its route", async () => {
    const { url, metrics } = await start({ renderMetrics: () => Promise.reject(new Error("registry broken")) });
    expect(await hit(`${url}/metrics`)).toBe(500);
    expect(await countsAfter(metrics, 1)).toEqual({ "/metrics 500": 1 });
  });

  it("counts nothing when no counter is given", async () => {
    const metrics = new Metrics();
    const ops = await listenOps(createOpsApp({ ready: () => true, renderMetrics: () => metrics.render(), metricsContentType: metrics.registry.contentType }), "127.0.0.1", 0);
    servers.push(ops);
    expect(await hit(`${ops.url}/healthz`)).toBe(200);
    expect(await hit(`${ops.url}/metrics`)).toBe(200);
    expect(await requestCounts(metrics)).toEqual(new Map());
  });
});
