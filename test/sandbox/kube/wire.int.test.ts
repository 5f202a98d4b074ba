// Wire details of the emulator over raw HTTPS: discovery, Status shapes, validation, patch types, selectors, paging, metadata-only, faults.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeEmulator, UPSTREAMS, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { rawRequest, upstream } from "./helpers.js";

let emu: KubeEmulator;
const UP = "/apis/gloo.solo.io/v1/namespaces/wire/upstreams";

beforeAll(async () => {
  emu = await createKubeEmulator();
  emu.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "wire" } });
});

afterAll(async () => {
  await emu.close();
});

const as = (path: string, options: Parameters<typeof rawRequest>[3] = {}, method = "GET") => rawRequest(emu, method, path, { token: emu.adminToken, ...options });

describe("discovery", () => {
  it("serves the non-aggregated documents, even when aggregated discovery is asked for first", async () => {
    const accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    const groups = await as("/apis", { accept });
    expect(groups.headers["content-type"]).toBe("application/json");
    expect(groups.json().kind).toBe("APIGroupList");
    expect(groups.json().groups.map((g: { name: string }) => g.name)).toEqual(
      expect.arrayContaining(["gloo.solo.io", "coordination.k8s.io", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "rbac.authorization.k8s.io"]),
    );
    expect((await as("/api", { accept })).json()).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const gloo = (await as("/apis/gloo.solo.io/v1")).json();
    expect(gloo).toMatchObject({ kind: "APIResourceList", groupVersion: "gloo.solo.io/v1" });
    expect(gloo.resources[0]).toMatchObject({ name: "upstreams", kind: "Upstream", namespaced: true, shortNames: ["us", "gus"], verbs: expect.arrayContaining(["get", "list", "watch", "patch"]) });
    const core = (await as("/api/v1")).json();
    expect(core.resources.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(["namespaces", "secrets", "serviceaccounts", "events", "configmaps"]));
    expect((await rawRequest(emu, "GET", "/version")).json()).toMatchObject({ major: "1", minor: "32" });
    expect((await as("/openapi/v3")).status).toBe(404);
  });

  it("refuses with 406 when only a Table or protobuf is acceptable", async () => {
    const res = await as("/api/v1/namespaces", { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    expect(res.status).toBe(406);
    expect(res.json()).toMatchObject({ kind: "Status", reason: "NotAcceptable", code: 406 });
    expect((await as("/api/v1/namespaces", { accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" })).json().kind).toBe("NamespaceList");
  });
});

describe("writes", () => {
  it("answers 422 Invalid with causes for a field of the wrong type", async () => {
    const res = await as(UP, { body: upstream("wire", "bad", { aws: { region: 5, lambdaFunctions: [{ logicalName: true }] } }) }, "POST");
    expect(res.status).toBe(422);
    expect(res.json()).toMatchObject({
      kind: "Status",
      reason: "Invalid",
      code: 422,
      details: {
        name: "bad",
        group: "gloo.solo.io",
        kind: "Upstream",
        causes: [
          { field: "spec.aws.region", message: 'Invalid value: "integer": spec.aws.region in body must be of type string: "integer"' },
          { field: "spec.aws.lambdaFunctions[0].logicalName" },
        ],
      },
    });
    expect(res.json().message).toMatch(/^Upstream\.gloo\.solo\.io "bad" is invalid: spec\.aws\.region: /);
  });

  it("prunes unknown fields inside cloud blocks and unknown spec keys, keeps opaque Gloo keys and status", async () => {
    const body = upstream("wire", "pruned", {
      aws: { region: "us-east-1", bogus: 1, lambdaFunctions: [{ logicalName: "f", lambdaFunctionName: "f", extra: "x" }], destinationOverrides: { anything: { nested: true } } },
      azure: { functionAppName: "app", functions: [{ functionName: "a", authLevel: 1 }, { functionName: "b", authLevel: "Admin" }] },
      static: { hosts: [{ addr: "1.2.3.4", port: 80 }], anythingElse: true },
      notGloo: { x: 1 },
    });
    const created = await as(UP, { body: { ...body, status: { statuses: { gloo: { state: 1, custom: { a: 1 } } }, other: "kept" } } }, "POST");
    expect(created.status).toBe(201);
    expect(created.headers["warning"]).toContain('unknown field \\"spec.aws.bogus\\"');
    const obj = created.json();
    expect(obj.spec).toEqual({
      aws: { region: "us-east-1", lambdaFunctions: [{ logicalName: "f", lambdaFunctionName: "f" }], destinationOverrides: { anything: { nested: true } } },
      azure: { functionAppName: "app", functions: [{ functionName: "a", authLevel: 1 }, { functionName: "b", authLevel: "Admin" }] },
      static: { hosts: [{ addr: "1.2.3.4", port: 80 }], anythingElse: true },
    });
    expect(obj.status).toEqual({ statuses: { gloo: { state: 1, custom: { a: 1 } } }, other: "kept" });
    const strict = await as(`${UP}?fieldValidation=Strict`, { body: upstream("wire", "strict", { aws: { region: "x", bogus: 1 } }) }, "POST");
    expect(strict.status).toBe(400);
    expect(strict.json().message).toContain('unknown field "spec.aws.bogus"');
  });

  it("requires a resourceVersion to replace a custom resource, and writes nothing for a no-op replace", async () => {
    const created = (await as(UP, { body: upstream("wire", "replace-me") }, "POST")).json();
    const { resourceVersion: _rv, ...metaWithoutRv } = created.metadata;
    const unconditional = await as(`${UP}/replace-me`, { body: { ...created, metadata: metaWithoutRv } }, "PUT");
    expect(unconditional.status).toBe(422);
    const same = await as(`${UP}/replace-me`, { body: created }, "PUT");
    expect(same.status).toBe(200);
    expect(same.json().metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    const renamed = await as(`${UP}/replace-me`, { body: { ...created, metadata: { ...created.metadata, name: "other" } } }, "PUT");
    expect(renamed.status).toBe(400);
  });

  it("answers 415 for strategic merge patch on a custom resource and for server-side apply, and accepts it for Secrets", async () => {
    await as(UP, { body: upstream("wire", "patchy") }, "POST");
    const smp = await as(`${UP}/patchy`, { body: { metadata: { labels: { a: "b" } } }, contentType: "application/strategic-merge-patch+json" }, "PATCH");
    expect(smp.status).toBe(415);
    expect(smp.json()).toMatchObject({ kind: "Status", reason: "UnsupportedMediaType", code: 415 });
    const ssa = await as(`${UP}/patchy?fieldManager=me`, { body: "metadata: {}", contentType: "application/apply-patch+yaml" }, "PATCH");
    expect(ssa.status).toBe(415);
    await as("/api/v1/namespaces/wire/secrets", { body: { metadata: { name: "s" }, data: { a: "YQ==" } } }, "POST");
    const secretSmp = await as("/api/v1/namespaces/wire/secrets/s", { body: { stringData: { b: "b" }, $setElementOrder: [] }, contentType: "application/strategic-merge-patch+json" }, "PATCH");
    expect(secretSmp.status).toBe(200);
    expect(secretSmp.json().data).toEqual({ a: "YQ==", b: "Yg==" });
  });

  it("deletes custom resources returning the object, compiled-in kinds returning a Status, and honours preconditions", async () => {
    const created = (await as(UP, { body: upstream("wire", "doomed") }, "POST")).json();
    const wrongRv = await as(`${UP}/doomed`, { body: { preconditions: { resourceVersion: "1" } } }, "DELETE");
    expect(wrongRv.status, wrongRv.text).toBe(409);
    const deleted = await as(`${UP}/doomed`, {}, "DELETE");
    expect(deleted.json()).toMatchObject({ kind: "Upstream", metadata: { name: "doomed", uid: created.metadata.uid } });
    const secretDeleted = await as("/api/v1/namespaces/wire/secrets/s", {}, "DELETE");
    expect(secretDeleted.json()).toMatchObject({ kind: "Status", status: "Success", details: { name: "s", kind: "secrets" } });
    expect((await as(`${UP}/doomed`)).status).toBe(404);
  });

  it("removes a namespace's objects with the namespace", async () => {
    emu.apply(upstream("short-lived", "u1"));
    expect(emu.list(UPSTREAMS, "short-lived")).toHaveLength(1);
    expect((await as("/api/v1/namespaces/short-lived", {}, "DELETE")).status).toBe(200);
    expect(emu.list(UPSTREAMS, "short-lived")).toHaveLength(0);
  });
});

describe("lists", () => {
  beforeAll(() => {
    emu.applyMany(
      ["a", "b", "c", "d", "e"].map((n, i) => upstream("paging", `up-${n}`, { aws: { region: "us-east-1" } }, i % 2 === 0 ? { parity: "even", idx: String(i) } : { parity: "odd" })),
    );
  });
  const P = "/apis/gloo.solo.io/v1/namespaces/paging/upstreams";
  const names = (body: { items: Array<{ metadata: { name: string } }> }) => body.items.map((i) => i.metadata.name);

  it("pages with limit and continue, in name order", async () => {
    const first = (await as(`${P}?limit=2`)).json();
    expect(names(first)).toEqual(["up-a", "up-b"]);
    expect(first.metadata.continue).toBeTruthy();
    const second = (await as(`${P}?limit=2&continue=${first.metadata.continue}`)).json();
    expect(names(second)).toEqual(["up-c", "up-d"]);
    const third = (await as(`${P}?limit=2&continue=${second.metadata.continue}`)).json();
    expect(names(third)).toEqual(["up-e"]);
    expect(third.metadata.continue).toBeUndefined();
    expect((await as(`${P}?limit=2&continue=garbage!`)).status).toBe(400);
  });

  it.each([
    ["parity=even", ["up-a", "up-c", "up-e"]],
    ["parity!=even", ["up-b", "up-d"]],
    ["parity in (odd),idx", []],
    ["idx notin (0,2)", ["up-b", "up-d", "up-e"]],
    ["idx", ["up-a", "up-c", "up-e"]],
    ["!idx", ["up-b", "up-d"]],
  ])("selects labels with %s", async (selector, expected) => {
    expect(names((await as(`${P}?labelSelector=${encodeURIComponent(selector)}`)).json())).toEqual(expected);
  });

  it("selects fields by metadata.name and refuses unsupported field labels", async () => {
    expect(names((await as(`${P}?fieldSelector=metadata.name%3Dup-c`)).json())).toEqual(["up-c"]);
    expect(names((await as(`/apis/gloo.solo.io/v1/upstreams?fieldSelector=metadata.namespace%3Dpaging,metadata.name!%3Dup-c`)).json())).toEqual(["up-a", "up-b", "up-d", "up-e"]);
    expect((await as(`${P}?fieldSelector=spec.aws.region%3Dx`)).status).toBe(400);
  });

  it("answers metadata-only lists and gets as PartialObjectMetadata", async () => {
    emu.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "hidden", namespace: "paging" }, stringData: { aws_secret_access_key: "topsecret" } });
    const list = await as("/api/v1/namespaces/paging/secrets", { accept: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json" });
    expect(list.headers["content-type"]).toContain("as=PartialObjectMetadataList");
    expect(list.json()).toMatchObject({ kind: "PartialObjectMetadataList", apiVersion: "meta.k8s.io/v1", items: [{ kind: "PartialObjectMetadata", metadata: { name: "hidden" } }] });
    expect(list.text).not.toContain(Buffer.from("topsecret").toString("base64"));
    const one = await as("/api/v1/namespaces/paging/secrets/hidden", { accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1" });
    expect(Object.keys(one.json()).sort()).toEqual(["apiVersion", "kind", "metadata"]);
  });
});

describe("faults and counters", () => {
  it("injects errors and throttling per operation and counts outcomes", async () => {
    emu.counters.reset();
    emu.faults.set({ errorRate: 1, operations: ["list upstreams"] });
    try {
      const failed = await as("/apis/gloo.solo.io/v1/upstreams");
      expect(failed.status).toBe(500);
      expect(failed.json()).toMatchObject({ kind: "Status", code: 500 });
      expect((await as(`${UP}/pruned`)).status).toBe(200);
      emu.faults.set({ errorRate: 0, throttleRate: 1 });
      const throttled = await as("/apis/gloo.solo.io/v1/upstreams");
      expect(throttled.status).toBe(429);
      expect(throttled.headers["retry-after"]).toBe("1");
    } finally {
      emu.faults.reset();
    }
    expect(emu.counters.get("list upstreams", "error")).toBe(1);
    expect(emu.counters.get("list upstreams", "throttled")).toBe(1);
    expect(emu.counters.get("get upstreams", "ok")).toBe(1);
    const admin = await rawRequest(emu, "GET", "/__sandbox/counters");
    expect(admin.json().operations["list upstreams"]).toEqual({ error: 1, throttled: 1 });
  });

  it("drops connections during an outage, open watches included", async () => {
    const before = emu.requestCount;
    const watch = new Promise<string>((resolve) => {
      void rawRequest(emu, "GET", "/api/v1/secrets?watch=true", { token: emu.adminToken }).then(
        () => resolve("ended"),
        () => resolve("dropped"),
      );
    });
    // The watch is registered once its request has been counted; then the outage starts.
    await expect.poll(() => emu.requestCount).toBeGreaterThan(before);
    const put = await rawRequest(emu, "PUT", "/__sandbox/faults", { body: { outage: true } });
    expect(put.json().outage).toBe(true);
    try {
      await expect(as("/api/v1/namespaces")).rejects.toThrow();
      expect(await watch).toMatch(/ended|dropped/);
    } finally {
      emu.faults.reset();
    }
    expect((await as("/api/v1/namespaces")).status).toBe(200);
  });
});
