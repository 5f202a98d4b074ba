// The OpenAPI document is valid, agrees with the model, and the response checker built on it can fail.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isDnsLabel, isDnsSubdomain } from "../../src/model/fields.js";
import { REASONS } from "../../src/model/reasons.js";
import { CONDITION_TYPES } from "../../src/model/conditions.js";
import { STATUS_STATES } from "../../src/model/status-types.js";
import { CLOUD_UPSTREAM_KINDS } from "../../src/model/upstream.js";
import { checkResponse, deref, documentedOperations, expectConforms, openApiDocument as doc, schemaAt } from "../support/openapi-check.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const escape = (part: string): string => part.replace(/~/g, "~0").replace(/\//g, "~1");

/** Every (pointer, node) of the document, depth first. */
function* walk(node: unknown, pointer = ""): Generator<[string, unknown]> {
  yield [pointer, node];
  if (Array.isArray(node)) for (const [i, v] of node.entries()) yield* walk(v, `${pointer}/${i}`);
  else if (isObject(node)) for (const [k, v] of Object.entries(node)) yield* walk(v, `${pointer}/${escape(k)}`);
}

const operations = documentedOperations().map(({ method, path }) => {
  const op = ((doc.paths as Json)[path] as Json)[method.toLowerCase()] as Json;
  return { method, path, op, pointer: `/paths/${escape(path)}/${method.toLowerCase()}` };
});
const schemas = doc.components as { schemas: Record<string, Json> };
const enumOf = (name: string): unknown => schemas.schemas[name]?.enum;

const view = {
  namespace: "gloo-system",
  name: "aws-prod",
  type: "aws",
  state: "Accepted",
  reason: "",
  conditions: [{ type: "Authenticated", status: "True", reason: "Verified", message: "verified", lastTransitionTime: "2025-05-01T10:00:00Z" }],
  identity: { provider: "aws", account: "123456789012", arn: "arn:aws:iam::123456789012:user/gw" },
  functions: { discovered: 3, published: 3, truncated: false },
  lastVerified: "2025-05-01T10:00:00.123+02:00",
};
const json = { "content-type": "application/json; charset=utf-8" };
const error = (code: string, field?: string) => ({ error: { code, message: "m", ...(field === undefined ? {} : { field }) } });

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1.0 titled credbroker, version 1", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "credbroker", version: "1" });
  });

  it("has exactly the seven routes, each with its operationId", () => {
    expect(operations.map(({ method, path, op }) => `${method} ${path} ${String(op.operationId)}`).sort()).toEqual(
      [
        "GET /healthz healthz",
        "GET /metrics metrics",
        "GET /readyz readyz",
        "GET /v1/openapi.json getOpenApi",
        "GET /v1/upstreams listUpstreams",
        "GET /v1/upstreams/{namespace}/{name} getUpstream",
        "POST /v1/reverify reverify",
      ].sort(),
    );
    for (const { op } of operations) expect(op.description, String(op.operationId)).toEqual(expect.any(String));
  });

  it("resolves every $ref", () => {
    const refs = [...walk(doc)].filter(([pointer]) => pointer.endsWith("/$ref"));
    expect(refs.length).toBeGreaterThan(20);
    for (const [pointer, target] of refs) expect(() => deref({ $ref: target }, pointer), pointer).not.toThrow();
  });

  it("compiles every schema under ajv's 2020 dialect in strict mode", () => {
    const pointers = [...walk(doc)].filter(([p]) => /\/schema$/.test(p) || /^\/components\/schemas\/[^/]+$/.test(p)).map(([p]) => p);
    expect(pointers.length).toBeGreaterThan(40);
    for (const pointer of pointers) expect(() => schemaAt(pointer), pointer).not.toThrow();
  });

  it("secures the API operations with bearer and leaves the operational ones open", () => {
    expect((doc.components as Json).securitySchemes).toEqual({ bearer: expect.objectContaining({ type: "http", scheme: "bearer" }) });
    for (const { path, op } of operations) {
      expect(op.security, path).toEqual(path.startsWith("/v1/upstreams") || path === "/v1/reverify" ? [{ bearer: [] }] : []);
    }
  });

  it("lists 401, 403 and 429 on every secured operation and 400 on every one that takes input", () => {
    for (const { path, op } of operations) {
      const statuses = Object.keys(op.responses as Json);
      if ((op.security as unknown[]).length > 0) expect(statuses, path).toEqual(expect.arrayContaining(["401", "403", "429"]));
      if (op.requestBody !== undefined || (op.parameters as unknown[] | undefined)?.length) expect(statuses, path).toContain("400");
      expect(statuses, path).not.toContain("default");
    }
  });

  it("validates every example against its schema", () => {
    const examples = [...walk(doc)].filter(([p, node]) => /\/examples\/[^/]+$/.test(p) && isObject(node) && "value" in node);
    expect(examples.length).toBeGreaterThan(5);
    for (const [pointer, node] of examples) {
      const validate = schemaAt(`${pointer.replace(/\/examples\/[^/]+$/, "")}/schema`);
      expect(validate((node as Json).value) ? [] : validate.errors, pointer).toEqual([]);
    }
  });

  it("agrees with the model on states, types, condition types and reasons", () => {
    expect(enumOf("State")).toEqual([...STATUS_STATES, "Unverified"]);
    expect(enumOf("UpstreamType")).toEqual([...CLOUD_UPSTREAM_KINDS]);
    expect(enumOf("Reason")).toEqual([...REASONS]);
    expect(((schemas.schemas.Condition?.properties as Json).type as Json).enum).toEqual([...CONDITION_TYPES]);
  });

  it("accepts exactly the namespaces and names Kubernetes accepts", () => {
    const namespace = schemaAt("/components/schemas/Namespace");
    const name = schemaAt("/components/schemas/Name");
    const text = fc.oneof(fc.stringMatching(/^[a-z0-9.-]{0,70}$/), fc.stringMatching(/^[a-z0-9]{60,70}(\.[a-z0-9]{60,63}){3}$/), fc.string());
    fc.assert(
      fc.property(text, (value) => {
        expect(namespace(value)).toBe(isDnsLabel(value));
        expect(name(value)).toBe(isDnsSubdomain(value));
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses a reverify body with a name but no namespace, a stray timeout or an unknown field", () => {
    const body = schemaAt("/components/schemas/ReverifyRequest");
    expect([{}, { namespace: "a", name: "b.c", wait: true, timeoutSeconds: 300 }, { labelSelector: "app in (x,y)" }].map((b) => body(b))).toEqual([true, true, true]);
    for (const bad of [{ name: "b" }, { timeoutSeconds: 5 }, { wait: false, timeoutSeconds: 5 }, { timeoutSeconds: 0, wait: true }, { wait: true, timeoutSeconds: 301 }, { namespace: "A" }, { extra: 1 }]) {
      expect(body(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe("checkResponse", () => {
  it("accepts conforming responses of every kind", () => {
    const ok: [string, string, number, Record<string, string | string[]>, unknown][] = [
      ["GET", "/v1/upstreams?namespace=gloo-system&limit=10", 200, json, { items: [view], continue: "abc" }],
      ["GET", "/v1/upstreams/team-a/azure.fn", 200, json, JSON.stringify({ ...view, identity: { provider: "azure", tenantId: "t", clientId: "c" } })],
      ["POST", "/v1/reverify", 202, json, { requestId: "r1", queued: [{ namespace: "a", name: "b", via: "leader" }], failed: [] }],
      ["POST", "/v1/reverify", 200, json, { requestId: "r1", results: [view], failed: [{ namespace: "a", name: "c", error: { code: "NotFound", message: "gone" } }] }],
      ["POST", "/v1/reverify", 504, json, { requestId: "r1", error: { code: "Timeout", message: "t" }, results: [], pending: [{ namespace: "a", name: "b" }], failed: [] }],
      ["POST", "/v1/reverify", 429, { ...json, "Retry-After": "3" }, error("ReverifyQueueFull")],
      ["POST", "/v1/reverify", 400, json, error("InvalidRequest", "timeoutSeconds")],
      ["GET", "/v1/upstreams", 401, { ...json, "www-authenticate": 'Bearer realm="credbroker"' }, error("Unauthenticated")],
      ["DELETE", "/v1/upstreams", 405, { ...json, allow: "GET, HEAD" }, error("MethodNotAllowed")],
      ["GET", "/readyz", 503, json, { status: "syncing" }],
      ["GET", "/metrics", 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }, "# HELP x\nx 1\n"],
      ["GET", "/v1/openapi.json", 200, json, doc],
    ];
    for (const [method, path, status, headers, body] of ok) expect(checkResponse(method, path, status, headers, body), `${method} ${path} ${status}`).toEqual([]);
  });

  it("rejects a status the operation does not document", () => {
    expect(checkResponse("GET", "/v1/upstreams", 404, json, error("NotFound"))).toEqual([expect.stringContaining("status 404 is not documented for GET /v1/upstreams")]);
    expect(checkResponse("GET", "/healthz", 500, json, error("Internal"))).toEqual([expect.stringContaining("status 500 is not documented")]);
  });

  it("rejects an extra property, a wrong enum value and an error code that does not fit the status", () => {
    expect(checkResponse("GET", "/v1/upstreams/a/b", 200, json, { ...view, token: "x" })).toEqual([expect.stringContaining('not allow: "token"')]);
    expect(checkResponse("GET", "/v1/upstreams/a/b", 200, json, { ...view, state: "Happy" }).join("\n")).toContain("body/state must be equal to one of the allowed values");
    expect(checkResponse("POST", "/v1/reverify", 403, json, error("NotFound")).join("\n")).toContain('body/error/code must be "Forbidden"');
    expect(checkResponse("GET", "/v1/upstreams", 200, json, { items: [{ ...view, lastVerified: "yesterday" }] }).join("\n")).toContain("body/items/0/lastVerified");
  });

  it("rejects a missing required header and a malformed one", () => {
    expect(checkResponse("GET", "/v1/upstreams", 401, json, error("Unauthenticated"))).toEqual(["header WWW-Authenticate is required but missing"]);
    expect(checkResponse("GET", "/v1/upstreams", 429, json, error("RateLimited"))).toEqual(["header Retry-After is required but missing"]);
    expect(checkResponse("GET", "/v1/upstreams", 429, { ...json, "retry-after": "0.5" }, error("RateLimited")).join("\n")).toContain("header Retry-After");
    expect(checkResponse("PUT", "/v1/reverify", 405, { ...json, allow: "GET" }, error("MethodNotAllowed"))).toEqual([
      'header Allow ("GET") leaves out documented POST',
      'header Allow ("GET") names undocumented GET',
    ]);
  });

  it("rejects an unknown path, and an undocumented method answered other than 405", () => {
    expect(checkResponse("GET", "/v2/things", 404, json, error("NotFound"))).toEqual(["/v2/things: no path in openapi.json matches"]);
    expect(checkResponse("GET", "/v1/upstreams/a", 404, json, error("NotFound"))).toEqual(["/v1/upstreams/a: no path in openapi.json matches"]);
    expect(checkResponse("POST", "/v1/upstreams", 404, json, error("NotFound"))).toEqual([expect.stringContaining("POST /v1/upstreams is not documented")]);
  });

  it("rejects a wrong or missing content type and a body that is not JSON", () => {
    expect(checkResponse("GET", "/healthz", 200, { "content-type": "text/html" }, "<p>ok</p>")).toEqual([expect.stringContaining("Content-Type text/html is not documented")]);
    expect(checkResponse("GET", "/healthz", 200, {}, { status: "ok" })).toEqual([expect.stringContaining("Content-Type is missing")]);
    expect(checkResponse("GET", "/healthz", 200, json, "{not json")).toEqual(["body is not JSON although Content-Type is application/json"]);
    expect(checkResponse("GET", "/metrics", 200, { "content-type": "text/plain" }, { x: 1 })).toEqual(["body must be string"]);
  });

  it("throws from expectConforms with the request and every problem named", () => {
    expect(() => expectConforms({ method: "get", path: "/v1/upstreams", status: 401, headers: json, body: { error: { code: "Unauthenticated" } } })).toThrow(
      /GET \/v1\/upstreams 401 does not conform to openapi.json:\n {2}- header WWW-Authenticate is required but missing\n {2}- body\/error must have required property 'message'/,
    );
    expect(() => expectConforms({ method: "GET", path: "/healthz", status: 200, headers: json, body: { status: "ok" } })).not.toThrow();
  });
});
