// The API on a real broker against the sample sandbox: every status code it promises, each answer checked against the OpenAPI document, no secret in any of them.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SAMPLE_AWS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";
import { expectConforms, type Headers } from "../support/openapi-check.js";

const TOKEN = "tok-all-5f1c0b9e";
const SCOPED = "tok-orders-77aa";

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

async function call(base: string, method: string, path: string, options: { token?: string; body?: unknown; raw?: string; type?: string; undocumented?: boolean } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers["content-type"] = options.type ?? "application/json";
  const res = await fetch(base + path, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await res.text();
  const answerHeaders: Headers = Object.fromEntries(res.headers.entries());
  const isJson = (res.headers.get("content-type") ?? "").includes("json");
  const body: unknown = isJson && text !== "" ? JSON.parse(text) : text;
  // A route nobody serves is in no document: its answer is checked by hand.
  if (options.undocumented !== true) expectConforms({ method, path, status: res.status, headers: answerHeaders, body });
  return { status: res.status, headers: answerHeaders, body, text };
}

const errorOf = (a: Answer) => (a.body as { error: { code: string; field?: string; message: string } }).error;

describe("HTTP API", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  const answers: string[] = [];
  const api = async (method: string, path: string, options: Parameters<typeof call>[3] = {}) => {
    const a = await call(broker.url, method, path, options);
    answers.push(a.text);
    return a;
  };

  beforeAll(async () => {
    sandbox = await startSandbox();
    const dir = mkdtempSync(join(tmpdir(), "credbroker-api-"));
    writeFileSync(join(dir, "tokens"), `# test tokens\n${TOKEN}\n${SCOPED} team-orders\n`, { mode: 0o600 });
    broker = await startTestBroker(
      sandboxConfig(sandbox, { "http.auth": "token-file", "http.tokenFile": join(dir, "tokens"), "http.bodyLimitBytes": 256, "http.requestsPerMinute": 100_000 }),
    );
    await eventually("every sample upstream verified", () => {
      const keys = broker.controller.select({});
      return keys.length > 0 && keys.every((k) => broker.controller.view(k)?.state !== "Unverified");
    }, 30_000);
  }, 60_000);

  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
  });

  it("answers 401 with WWW-Authenticate without a token and with an unknown one", async () => {
    const none = await api("GET", "/v1/upstreams");
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toContain("Bearer");
    const wrong = await api("POST", "/v1/reverify", { token: "not-a-token", body: {} });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain("not-a-token");
  });

  it("answers 403 when a namespace-scoped token asks cluster-wide or for another namespace, 202 within its scope", async () => {
    expect((await api("POST", "/v1/reverify", { token: SCOPED, body: {} })).status).toBe(403);
    expect((await api("POST", "/v1/reverify", { token: SCOPED, body: { namespace: "team-payments" } })).status).toBe(403);
    expect((await api("GET", "/v1/upstreams", { token: SCOPED })).status).toBe(403);
    expect((await api("POST", "/v1/reverify", { token: SCOPED, body: { namespace: "team-orders" } })).status).toBe(202);
  });

  it.each([
    ["not an object", "[1]", "body"],
    ["invalid JSON", "{bad", "body"],
    ["an unknown field", JSON.stringify({ namespaces: "a" }), "namespaces"],
    ["a bad namespace", JSON.stringify({ namespace: "Team_A" }), "namespace"],
    ["a name without namespace", JSON.stringify({ name: "x" }), "name"],
    ["a wait that is not a boolean", JSON.stringify({ wait: "yes" }), "wait"],
    ["timeoutSeconds out of range", JSON.stringify({ wait: true, timeoutSeconds: 301 }), "timeoutSeconds"],
    ["timeoutSeconds without wait", JSON.stringify({ timeoutSeconds: 5 }), "timeoutSeconds"],
    ["a bad labelSelector", JSON.stringify({ labelSelector: "a in (b" }), "labelSelector"],
  ])("answers 400 naming the field for %s", async (_what, raw, field) => {
    const a = await api("POST", "/v1/reverify", { token: TOKEN, raw });
    expect(a.status).toBe(400);
    expect(errorOf(a).field).toBe(field);
  });

  it.each([
    ["?colour=red", "colour"],
    ["?state=Fine", "state"],
    ["?limit=0", "limit"],
    ["?continue=xyz", "continue"],
  ])("answers 400 naming the query parameter for %s", async (query, field) => {
    const a = await api("GET", `/v1/upstreams${query}`, { token: TOKEN });
    expect(a.status).toBe(400);
    expect(errorOf(a).field).toBe(field);
  });

  it("answers 404 for unknown routes, unknown upstreams and a named reverify of one", async () => {
    const unknown = await api("GET", "/v1/nothing", { token: TOKEN, undocumented: true });
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).code).toBe("NotFound");
    expect((await api("GET", "/v1/upstreams/team-orders/missing", { token: TOKEN })).status).toBe(404);
    expect((await api("POST", "/v1/reverify", { token: TOKEN, body: { namespace: "team-orders", name: "missing" } })).status).toBe(404);
  });

  it("answers 405 with Allow, 413 past the body limit, 415 for a body that is not JSON", async () => {
    const m = await api("DELETE", "/v1/reverify", { token: TOKEN });
    expect(m.status).toBe(405);
    expect(m.headers["allow"]).toBe("POST");
    expect((await api("POST", "/v1/reverify", { token: TOKEN, raw: JSON.stringify({ labelSelector: "a".repeat(400) }) })).status).toBe(413);
    expect((await api("POST", "/v1/reverify", { token: TOKEN, raw: "namespace=team-orders", type: "text/plain" })).status).toBe(415);
  });

  it("queues with 202, answers with 200 and the new verdict when asked to wait", async () => {
    const queued = await api("POST", "/v1/reverify", { token: TOKEN, body: { namespace: "team-orders" } });
    expect(queued.status).toBe(202);
    const keys = (queued.body as { queued: { namespace: string; name: string; via: string }[] }).queued;
    expect(keys.length).toBe(broker.controller.select({ namespace: "team-orders" }).length);
    expect(keys.every((k) => k.via === "local")).toBe(true);
    const name = keys[0]!.name;
    const before = broker.controller.view(`team-orders/${name}`)?.lastVerified;
    const waited = await api("POST", "/v1/reverify", { token: TOKEN, body: { namespace: "team-orders", name, wait: true, timeoutSeconds: 20 } });
    expect(waited.status).toBe(200);
    const [result] = (waited.body as { results: { name: string; state: string; conditions: unknown[]; lastVerified?: string }[] }).results;
    expect(result?.name).toBe(name);
    expect(result?.conditions.length).toBeGreaterThan(0);
    if (result?.state === "Accepted") expect(result.lastVerified).not.toBe(before);
  });

  it("lists every upstream exactly once across pages and reads one", async () => {
    const seen: string[] = [];
    let next: string | undefined;
    do {
      const page = await api("GET", `/v1/upstreams?limit=2${next === undefined ? "" : `&continue=${next}`}`, { token: TOKEN });
      expect(page.status).toBe(200);
      const body = page.body as { items: { namespace: string; name: string }[]; continue?: string };
      seen.push(...body.items.map((i) => `${i.namespace}/${i.name}`));
      next = body.continue;
    } while (next !== undefined);
    expect(seen).toEqual(broker.controller.select({}));
    const one = await api("GET", `/v1/upstreams/${seen[0]!}`, { token: TOKEN });
    expect(one.status).toBe(200);
  });

  it("serves its OpenAPI document without a token, as checked in", async () => {
    const doc = await api("GET", "/v1/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body).toEqual(JSON.parse(readFileSync(new URL("../../src/http/openapi.json", import.meta.url), "utf8")));
  });

  it("never puts a secret or a token in an answer or a log line", () => {
    const all = [...answers, ...broker.logs].join("\n");
    for (const secret of [SAMPLE_AWS.secretAccessKey, TOKEN, SCOPED]) expect(all).not.toContain(secret);
  });
});

describe("HTTP API limits", () => {
  it("answers 429 with Retry-After once a caller's burst is spent", async () => {
    const sandbox = await startSandbox();
    const dir = mkdtempSync(join(tmpdir(), "credbroker-api-"));
    writeFileSync(join(dir, "tokens"), `${TOKEN}\n`, { mode: 0o600 });
    const broker = await startTestBroker(sandboxConfig(sandbox, { "http.auth": "token-file", "http.tokenFile": join(dir, "tokens"), "http.requestsPerMinute": 6 }));
    try {
      expect((await call(broker.url, "GET", "/v1/upstreams", { token: TOKEN })).status).toBe(200);
      const limited = await call(broker.url, "GET", "/v1/upstreams", { token: TOKEN });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    } finally {
      await broker.stop();
      await sandbox.close();
    }
  }, 60_000);
});
