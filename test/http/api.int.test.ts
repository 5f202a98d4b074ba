// The API on a real broker against the sample sandbox: every status code it promises, each answer checked against the OpenAPI document, no secret in any of them.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SAMPLE_AWS, SAMPLE_AZURE, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";
import { expectConforms, schemaAt, type Headers } from "../support/openapi-check.js";

const TOKEN = "tok-all-5f1c0b9e";
const SCOPED = "tok-orders-77aa";
const SECOND = "tok-second-c3d4";
const SECRETS = [SAMPLE_AWS.secretAccessKey, SAMPLE_AZURE.clientSecret, SAMPLE_AZURE.masterKey, SAMPLE_AZURE.createOrderKey, TOKEN, SCOPED, SECOND];

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

interface CallOptions {
  token?: string;
  /** The whole Authorization header, instead of a bearer `token`. */
  authorization?: string;
  body?: unknown;
  /** Sent as is; with `type: null`, as bytes without a Content-Type. */
  raw?: string;
  type?: string | null;
  /** A path the document does not list (on this port): the answer must still be the JSON error shape. */
  undocumented?: boolean;
}

/** One request; its answer conforms to openapi.json (or, undocumented, to its Error schema) or the call throws. */
async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  const authorization = options.authorization ?? (options.token === undefined ? undefined : `Bearer ${options.token}`);
  if (authorization !== undefined) headers["authorization"] = authorization;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined && options.type !== null) headers["content-type"] = options.type ?? "application/json";
  // fetch labels a string body text/plain; bytes go without a Content-Type.
  const body = payload === undefined ? undefined : options.type === null ? new TextEncoder().encode(payload) : payload;
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  const answerHeaders: Headers = Object.fromEntries(res.headers.entries());
  const isJson = (res.headers.get("content-type") ?? "").includes("json");
  const parsed: unknown = isJson && text !== "" ? JSON.parse(text) : text;
  if (options.undocumented === true) {
    expect(res.headers.get("content-type")).toContain("application/json");
    const validate = schemaAt("/components/schemas/Error");
    if (!validate(parsed)) throw new Error(`${method} ${path} ${res.status}: not the Error shape: ${JSON.stringify(validate.errors)}`);
  } else expectConforms({ method, path, status: res.status, headers: answerHeaders, body: parsed });
  return { status: res.status, headers: answerHeaders, body: parsed, text };
}

type ErrorBody = { code: string; field?: string; message: string };
const errorOf = (a: Answer): ErrorBody => (a.body as { error: ErrorBody }).error;
const keyOf = (u: { namespace: string; name: string }): string => `${u.namespace}/${u.name}`;

interface View {
  namespace: string;
  name: string;
  type: string;
  state: string;
  conditions: { type: string; status: string }[];
  identity?: { provider: string; account?: string };
  lastVerified?: string;
}

/** A token file in a fresh temporary folder. */
function tokenFile(lines: string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), "credbroker-api-")), "tokens");
  writeFileSync(path, `# test tokens\n${lines.join("\n")}\n`, { mode: 0o600 });
  return path;
}

/** The value of one sample of a Prometheus exposition, 0 when absent. */
function sample(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(labels === "" ? `${name} ` : `${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

async function settled(broker: HarnessBroker): Promise<void> {
  await eventually("every sample upstream verified", () => {
    const keys = broker.controller.select({});
    return keys.length > 0 && keys.every((k) => broker.controller.view(k)?.state !== "Unverified");
  }, 30_000);
}

describe("HTTP API", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  const answers: string[] = [];
  const api = async (method: string, path: string, options: CallOptions = {}): Promise<Answer> => {
    const a = await call(broker.url, method, path, options);
    answers.push(a.text);
    return a;
  };

  beforeAll(async () => {
    sandbox = await startSandbox();
    broker = await startTestBroker(
      sandboxConfig(sandbox, {
        "http.auth": "token-file",
        "http.tokenFile": tokenFile([TOKEN, `${SCOPED} team-orders`]),
        "http.bodyLimitBytes": 128,
        "http.requestsPerMinute": 100_000,
        "http.opsPort": 0,
      }),
    );
    await settled(broker);
  }, 60_000);

  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
  });

  it("answers 401 with WWW-Authenticate when the request carries no token", async () => {
    const none = await api("GET", "/v1/upstreams");
    expect(none.status).toBe(401);
    expect(errorOf(none).code).toBe("Unauthenticated");
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="credbroker"');
    const basic = await api("GET", "/v1/upstreams", { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` });
    expect(basic.status).toBe(401);
    expect(basic.headers["www-authenticate"]).toBe('Bearer realm="credbroker"');
  });

  it("answers 401 with WWW-Authenticate when the token is not in the file, without echoing it", async () => {
    const wrong = await api("POST", "/v1/reverify", { token: "not-a-token-9f8e", body: {} });
    expect(wrong.status).toBe(401);
    expect(errorOf(wrong).code).toBe("Unauthenticated");
    expect(wrong.headers["www-authenticate"]).toBe('Bearer realm="credbroker"');
    expect(wrong.text).not.toContain("not-a-token-9f8e");
    expect((await api("GET", "/v1/upstreams/team-orders/orders-lambda", { token: `${TOKEN}x` })).status).toBe(401);
  });

  it("answers 403 when a namespace-scoped token asks cluster-wide or for another namespace", async () => {
    for (const [method, path, body] of [
      ["POST", "/v1/reverify", {}],
      ["POST", "/v1/reverify", { namespace: "team-payments" }],
      ["POST", "/v1/reverify", { namespace: "team-payments", name: "payments-vault" }],
      ["GET", "/v1/upstreams", undefined],
      ["GET", "/v1/upstreams?namespace=team-payments", undefined],
      ["GET", "/v1/upstreams/team-payments/payments-vault", undefined],
    ] as const) {
      const a = await api(method, path, { token: SCOPED, ...(body === undefined ? {} : { body }) });
      expect(a.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(403);
      expect(errorOf(a).code).toBe("Forbidden");
    }
  });

  it("answers a namespace-scoped token within its namespace", async () => {
    expect((await api("POST", "/v1/reverify", { token: SCOPED, body: { namespace: "team-orders" } })).status).toBe(202);
    expect((await api("GET", "/v1/upstreams?namespace=team-orders", { token: SCOPED })).status).toBe(200);
    expect((await api("GET", "/v1/upstreams/team-orders/orders-lambda", { token: SCOPED })).status).toBe(200);
  });

  it.each([
    ["an array", "[1]", "body"],
    ["a string", '"team-orders"', "body"],
    ["null", "null", "body"],
    ["invalid JSON", "{bad", "body"],
    ["an unknown field", JSON.stringify({ namespaces: "a" }), "namespaces"],
    ["a namespace that is not a string", JSON.stringify({ namespace: 5 }), "namespace"],
    ["a namespace that is null", JSON.stringify({ namespace: null }), "namespace"],
    ["a namespace that is not a DNS label", JSON.stringify({ namespace: "Team_A" }), "namespace"],
    ["a name that is not a string", JSON.stringify({ namespace: "team-orders", name: 5 }), "name"],
    ["a name that is not a DNS subdomain", JSON.stringify({ namespace: "team-orders", name: "Bad_Name" }), "name"],
    ["a name without namespace", JSON.stringify({ name: "orders-lambda" }), "name"],
    ["a labelSelector that is not a string", JSON.stringify({ labelSelector: 5 }), "labelSelector"],
    ["a labelSelector that does not parse", JSON.stringify({ labelSelector: "a in (b" }), "labelSelector"],
    ["a wait that is not a boolean", JSON.stringify({ wait: "yes" }), "wait"],
    ["a timeoutSeconds that is a string", JSON.stringify({ wait: true, timeoutSeconds: "5" }), "timeoutSeconds"],
    ["a timeoutSeconds that is not whole", JSON.stringify({ wait: true, timeoutSeconds: 1.5 }), "timeoutSeconds"],
    ["a timeoutSeconds of 0", JSON.stringify({ wait: true, timeoutSeconds: 0 }), "timeoutSeconds"],
    ["a timeoutSeconds of 301", JSON.stringify({ wait: true, timeoutSeconds: 301 }), "timeoutSeconds"],
    ["a timeoutSeconds without wait", JSON.stringify({ timeoutSeconds: 5 }), "timeoutSeconds"],
    ["a timeoutSeconds with wait false", JSON.stringify({ wait: false, timeoutSeconds: 5 }), "timeoutSeconds"],
  ])("answers 400 naming the field when the body is %s", async (_what, raw, field) => {
    const a = await api("POST", "/v1/reverify", { token: TOKEN, raw });
    expect(a.status).toBe(400);
    expect(errorOf(a)).toMatchObject({ code: "InvalidRequest", field });
  });

  it.each([
    ["an unknown parameter", "?colour=red", "colour"],
    ["a state that is not one", "?state=Fine", "state"],
    ["a type that is not one", "?type=gcp", "type"],
    ["a namespace that is not a DNS label", "?namespace=Team_A", "namespace"],
    ["a limit of 0", "?limit=0", "limit"],
    ["a limit of 5001", "?limit=5001", "limit"],
    ["a limit that is not a number", "?limit=ten", "limit"],
    ["a limit given twice", "?limit=1&limit=2", "limit"],
    ["a continue token it never issued", "?continue=xyz", "continue"],
  ])("answers 400 naming the query parameter for %s", async (_what, query, field) => {
    const a = await api("GET", `/v1/upstreams${query}`, { token: TOKEN });
    expect(a.status).toBe(400);
    expect(errorOf(a)).toMatchObject({ code: "InvalidRequest", field });
  });

  it("answers 400 naming the path segment or parameter when one upstream is asked for badly", async () => {
    expect(errorOf(await api("GET", "/v1/upstreams/Team_A/orders-lambda", { token: TOKEN })).field).toBe("namespace");
    expect(errorOf(await api("GET", "/v1/upstreams/team-orders/orders-lambda?verbose=1", { token: TOKEN })).field).toBe("verbose");
  });

  it("answers 404 in JSON for a route nobody serves", async () => {
    for (const path of ["/v1/nothing", "/v2/upstreams", "/v1/upstreams/team-orders/orders-lambda/extra"]) {
      const a = await api("GET", path, { token: TOKEN, undocumented: true });
      expect(a.status, path).toBe(404);
      expect(errorOf(a).code).toBe("NotFound");
    }
  });

  it("answers 404 for an unknown upstream, read or re-verified", async () => {
    expect(errorOf(await api("GET", "/v1/upstreams/team-orders/missing", { token: TOKEN })).code).toBe("NotFound");
    expect(errorOf(await api("GET", "/v1/upstreams/no-such-ns/missing", { token: TOKEN })).code).toBe("NotFound");
    expect(errorOf(await api("POST", "/v1/reverify", { token: TOKEN, body: { namespace: "team-orders", name: "missing" } })).code).toBe("NotFound");
  });

  it("answers 404 for an upstream that is not a cloud upstream, read or re-verified", async () => {
    expect(broker.controller.keys("team-payments")).toContain("team-payments/static-backend");
    expect((await api("GET", "/v1/upstreams/team-payments/static-backend", { token: TOKEN })).status).toBe(404);
    expect((await api("POST", "/v1/reverify", { token: TOKEN, body: { namespace: "team-payments", name: "static-backend" } })).status).toBe(404);
  });

  it("answers 405 with Allow for a known path asked with another method", async () => {
    for (const [method, path, allow] of [
      ["DELETE", "/v1/reverify", "POST"],
      ["GET", "/v1/reverify", "POST"],
      ["PUT", "/v1/upstreams", "GET, HEAD"],
      ["POST", "/v1/upstreams/team-orders/orders-lambda", "GET, HEAD"],
      ["POST", "/v1/openapi.json", "GET, HEAD"],
    ] as const) {
      const a = await api(method, path, { token: TOKEN });
      expect(a.status, `${method} ${path}`).toBe(405);
      expect(errorOf(a).code).toBe("MethodNotAllowed");
      expect(a.headers["allow"]).toBe(allow);
    }
  });

  it("answers 413 when the body passes http.bodyLimitBytes", async () => {
    const raw = JSON.stringify({ labelSelector: `app in (${"a".repeat(150)})` });
    expect(Buffer.byteLength(raw)).toBeGreaterThan(128);
    const a = await api("POST", "/v1/reverify", { token: TOKEN, raw });
    expect(a.status).toBe(413);
    expect(errorOf(a).code).toBe("PayloadTooLarge");
  });

  it("answers 415 for a text/plain body and for a body without Content-Type", async () => {
    const plain = await api("POST", "/v1/reverify", { token: TOKEN, raw: "{}", type: "text/plain" });
    expect(plain.status).toBe(415);
    expect(errorOf(plain).code).toBe("UnsupportedMediaType");
    const untyped = await api("POST", "/v1/reverify", { token: TOKEN, raw: "{}", type: null });
    expect(untyped.status).toBe(415);
    expect(errorOf(untyped).code).toBe("UnsupportedMediaType");
  });

  it("answers 202 with every key of the namespace queued here when asked without wait", async () => {
    const queued = await api("POST", "/v1/reverify", { token: TOKEN, body: { namespace: "team-orders" } });
    expect(queued.status).toBe(202);
    const body = queued.body as { requestId: string; queued: { namespace: string; name: string; via: string }[]; failed: unknown[] };
    expect(body.queued.map(keyOf)).toEqual(broker.controller.select({ namespace: "team-orders" }));
    expect(body.queued.every((k) => k.via === "local")).toBe(true);
    expect(body.failed).toEqual([]);
    const all = await api("POST", "/v1/reverify", { token: TOKEN, body: {} });
    expect((all.body as typeof body).queued.map(keyOf)).toEqual(broker.controller.select({}));
  });

  it("answers 200 with the new verdict, its conditions and a newer lastVerified when asked to wait", async () => {
    const key = "team-orders/orders-lambda";
    const before = await eventually("no reverify of orders-lambda in flight", () => broker.controller.view(key)?.lastVerified);
    const waited = await api("POST", "/v1/reverify", { token: TOKEN, body: { namespace: "team-orders", name: "orders-lambda", wait: true, timeoutSeconds: 20 } });
    expect(waited.status).toBe(200);
    const body = waited.body as { results: View[]; failed: unknown[] };
    expect(body.failed).toEqual([]);
    expect(body.results.map(keyOf)).toEqual([key]);
    const [result] = body.results;
    expect(result?.state).toBe("Accepted");
    expect(result?.conditions.find((c) => c.type === "Authenticated")?.status).toBe("True");
    expect(Date.parse(result?.lastVerified ?? "")).toBeGreaterThan(Date.parse(before));
  });

  it("answers 200 with a Rejected verdict for credentials the cloud refuses", async () => {
    const waited = await api("POST", "/v1/reverify", { token: TOKEN, body: { namespace: "team-orders", name: "orders-wrong-key", wait: true, timeoutSeconds: 20 } });
    expect(waited.status).toBe(200);
    const [result] = (waited.body as { results: View[] }).results;
    expect(result?.state).toBe("Rejected");
    expect(result?.conditions.find((c) => c.type === "Authenticated")?.status).toBe("False");
  });

  it("lists every upstream exactly once across pages of limit and continue", async () => {
    for (const limit of [1, 2, 3]) {
      const seen: string[] = [];
      let next: string | undefined;
      do {
        const page = await api("GET", `/v1/upstreams?limit=${limit}${next === undefined ? "" : `&continue=${encodeURIComponent(next)}`}`, { token: TOKEN });
        expect(page.status).toBe(200);
        const body = page.body as { items: View[]; continue?: string };
        expect(body.items.length).toBeLessThanOrEqual(limit);
        seen.push(...body.items.map(keyOf));
        next = body.continue;
      } while (next !== undefined);
      expect(seen).toEqual(broker.controller.select({}));
    }
    const whole = await api("GET", "/v1/upstreams", { token: TOKEN });
    expect((whole.body as { continue?: string }).continue).toBeUndefined();
  });

  it("filters the list by state, type and namespace", async () => {
    const list = async (query: string): Promise<View[]> => {
      const a = await api("GET", `/v1/upstreams?${query}`, { token: TOKEN });
      expect(a.status, query).toBe(200);
      return (a.body as { items: View[] }).items;
    };
    const rejected = await list("state=Rejected");
    expect(rejected.map(keyOf)).toContain("team-orders/orders-wrong-key");
    expect(rejected.every((u) => u.state === "Rejected")).toBe(true);
    expect((await list("type=azure")).map(keyOf)).toEqual(["team-orders/orders-azure"]);
    expect((await list("type=awsEc2")).map(keyOf)).toEqual(["team-orders/orders-ec2"]);
    expect((await list("namespace=team-payments")).map(keyOf)).toEqual(["team-payments/payments-vault"]);
    expect((await list("namespace=team-orders&type=aws&state=Accepted")).map(keyOf)).toEqual(["team-orders/orders-lambda", "team-orders/orders-legacy"]);
    expect(await list("namespace=nobody-here")).toEqual([]);
  });

  it("reads one upstream with its type, state, conditions and identity", async () => {
    const a = await api("GET", "/v1/upstreams/team-orders/orders-lambda", { token: TOKEN });
    expect(a.status).toBe(200);
    const view = a.body as View;
    expect(view).toMatchObject({ namespace: "team-orders", name: "orders-lambda", type: "aws", state: "Accepted", identity: { provider: "aws", account: SAMPLE_AWS.accountId } });
    expect(view.conditions.length).toBeGreaterThan(0);
    expect(((await api("GET", "/v1/upstreams/team-orders/orders-azure", { token: TOKEN })).body as View).type).toBe("azure");
  });

  it("serves its OpenAPI document without a token, as checked in", async () => {
    const doc = await api("GET", "/v1/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body).toEqual(JSON.parse(readFileSync(new URL("../../src/http/openapi.json", import.meta.url), "utf8")));
  });

  it("serves /metrics, /healthz and /readyz on http.opsPort and not on the API port", async () => {
    expect(broker.opsUrl).not.toBe(broker.url);
    const metrics = await call(broker.opsUrl, "GET", "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain("credbroker_reverify_requests_total");
    expect((await call(broker.opsUrl, "GET", "/healthz")).status).toBe(200);
    expect((await call(broker.opsUrl, "GET", "/readyz")).status).toBe(200);
    for (const path of ["/metrics", "/healthz", "/readyz"]) expect((await api("GET", path, { undocumented: true })).status, path).toBe(404);
    expect((await call(broker.opsUrl, "GET", "/v1/upstreams", { token: TOKEN, undocumented: true })).status).toBe(404);
  });

  it("never puts a secret or a token in an answer or a log line", () => {
    expect(answers.length).toBeGreaterThan(50);
    const all = [...answers, ...broker.logs].join("\n");
    for (const secret of SECRETS) expect(all).not.toContain(secret);
  });
});

describe("HTTP API per-caller rate limit", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;

  beforeAll(async () => {
    sandbox = await startSandbox();
    // 6 a minute: a burst of 1, then one every 10 s.
    broker = await startTestBroker(sandboxConfig(sandbox, { "http.auth": "token-file", "http.tokenFile": tokenFile([TOKEN, SECOND]), "http.requestsPerMinute": 6 }));
  }, 60_000);

  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
  });

  it("answers 429 RateLimited with Retry-After once a caller's burst is spent, and not to another caller", async () => {
    expect((await call(broker.url, "GET", "/v1/upstreams", { token: TOKEN })).status).toBe(200);
    const limited = await call(broker.url, "POST", "/v1/reverify", { token: TOKEN, body: {} });
    expect(limited.status).toBe(429);
    expect(errorOf(limited).code).toBe("RateLimited");
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect((await call(broker.url, "GET", "/v1/upstreams", { token: SECOND })).status).toBe(200);
    const all = broker.logs.join("\n");
    for (const secret of SECRETS) expect(all).not.toContain(secret);
  });
});

describe("HTTP API while the cloud hangs", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  const answers: string[] = [];
  const api = async (method: string, path: string, options: CallOptions = {}): Promise<Answer> => {
    const a = await call(broker.url, method, path, { token: TOKEN, ...options });
    answers.push(a.text);
    return a;
  };
  const reverify = (body: object) => api("POST", "/v1/reverify", { body });
  const metricsText = async () => (await call(broker.url, "GET", "/metrics")).text;

  /** Waits until no reconcile runs and nothing is due: the previous test's hung call has ended. */
  const idle = () => eventually("the broker idle", () => broker.controller.progress().inFlight === 0 && broker.controller.progress().ready === 0, 40_000);

  /** Hangs Azure and starts a forced run of orders-azure: with concurrency 1 the one worker is then stuck on it. */
  const occupyWorker = async (): Promise<void> => {
    await idle();
    const hung = sandbox.azure.counters.total();
    sandbox.azure.faults.set({ hang: true });
    expect((await reverify({ namespace: "team-orders", name: "orders-azure" })).status).toBe(202);
    await eventually("the orders-azure run hung on Azure", () => broker.controller.progress().inFlight === 1 && sandbox.azure.counters.total() > hung);
  };

  beforeAll(async () => {
    sandbox = await startSandbox();
    broker = await startTestBroker(
      sandboxConfig(sandbox, {
        "http.auth": "token-file",
        "http.tokenFile": tokenFile([TOKEN]),
        "http.requestsPerMinute": 100_000,
        "http.maxQueuedReverify": 1,
        "controller.concurrency": 1,
        // A hung call then frees the one worker after 2 s (past the 504 test's 1 s), not the default 10 s.
        "azure.requestTimeoutMs": 2000,
      }),
    );
    await settled(broker);
  }, 60_000);

  afterAll(async () => {
    sandbox?.azure.faults.reset();
    await broker?.stop();
    await sandbox?.close();
  });

  it("answers 504 at timeoutSeconds with the unanswered key pending", async () => {
    await idle();
    sandbox.azure.faults.set({ hang: true });
    const started = Date.now();
    const a = await reverify({ namespace: "team-orders", name: "orders-azure", wait: true, timeoutSeconds: 1 });
    sandbox.azure.faults.reset();
    expect(a.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(5_000);
    const body = a.body as { error: { code: string }; results: unknown[]; pending: unknown[]; failed: unknown[] };
    expect(body.error.code).toBe("Timeout");
    expect(body.pending).toEqual([{ namespace: "team-orders", name: "orders-azure" }]);
    expect(body.results).toEqual([]);
    expect(body.failed).toEqual([]);
  }, 60_000);

  it("answers two concurrent requests for a queued upstream with one run: the second joins the first", async () => {
    await occupyWorker();
    const before = await metricsText();
    const calls = sandbox.aws.counters.get("sts:GetCallerIdentity");
    const ask = { namespace: "team-orders", name: "orders-lambda", wait: true, timeoutSeconds: 60 };
    const both = Promise.all([reverify(ask), reverify(ask)]);
    const after = await eventuallyAsync(async () => {
      const text = await metricsText();
      return sample(text, "credbroker_reverify_requests_total", 'answer="joined"') > sample(before, "credbroker_reverify_requests_total", 'answer="joined"') ? text : undefined;
    });
    expect(sample(after, "credbroker_reverify_requests_total", 'answer="joined"') - sample(before, "credbroker_reverify_requests_total", 'answer="joined"')).toBe(1);
    expect(sample(after, "credbroker_reverify_requests_total", 'answer="queued"') - sample(before, "credbroker_reverify_requests_total", 'answer="queued"')).toBe(1);
    sandbox.azure.faults.reset();
    const [first, second] = await both;
    expect([first.status, second.status]).toEqual([200, 200]);
    const results = [first, second].map((a) => (a.body as { results: View[] }).results);
    expect(results[0]?.map(keyOf)).toEqual(["team-orders/orders-lambda"]);
    expect(results[1]).toEqual(results[0]);
    expect(sandbox.aws.counters.get("sts:GetCallerIdentity") - calls).toBe(1);
  }, 60_000);

  it("answers 429 ReverifyQueueFull with Retry-After when a request would pass http.maxQueuedReverify", async () => {
    await idle();
    // Two keys against a cap of one: refused whole, even with nothing queued.
    const many = await reverify({ namespace: "team-orders" });
    expect(many.status).toBe(429);
    expect(errorOf(many).code).toBe("ReverifyQueueFull");
    expect(Number(many.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    await occupyWorker();
    expect((await reverify({ namespace: "team-orders", name: "orders-lambda" })).status).toBe(202);
    expect(sample(await metricsText(), "credbroker_reverify_queued")).toBe(1);
    const other = await reverify({ namespace: "team-orders", name: "orders-legacy" });
    expect(other.status).toBe(429);
    expect(errorOf(other).code).toBe("ReverifyQueueFull");
    expect(Number(other.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // The refused request queued nothing; asking again for the queued key joins it.
    expect(sample(await metricsText(), "credbroker_reverify_queued")).toBe(1);
    expect((await reverify({ namespace: "team-orders", name: "orders-lambda" })).status).toBe(202);
    sandbox.azure.faults.reset();
  }, 90_000);

  it("never puts a secret or a token in an answer or a log line", () => {
    const all = [...answers, ...broker.logs].join("\n");
    for (const secret of SECRETS) expect(all).not.toContain(secret);
  });
});

/** Polls an async probe until it gives a value; throws after `timeoutMs`. */
async function eventuallyAsync<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
