// The emulator driven by the real @kubernetes/client-node: custom objects, secrets, leases, watches, conflicts, RBAC and reviews.
import { readFile } from "node:fs/promises";
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeEmulator, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { expectStatus, kubeConfigFor, MetadataOnlyKubeConfig, RecordedWatch, UPSTREAM_API, upstream } from "./helpers.js";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

let emu: KubeEmulator;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let brokerToken: string;
const watches: RecordedWatch[] = [];

beforeAll(async () => {
  emu = await createKubeEmulator();
  emu.loadRbac(await readFile(new URL("../../../deploy/kustomize/base/rbac.yaml", import.meta.url), "utf8"));
  emu.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } });
  const admin = kubeConfigFor(emu, emu.adminToken);
  custom = admin.makeApiClient(CustomObjectsApi);
  core = admin.makeApiClient(CoreV1Api);
  brokerToken = emu.issueServiceAccountToken("gloo-system", "credbroker");
});

afterAll(async () => {
  for (const w of watches) w.stop();
  await emu.close();
});

describe("custom objects (upstreams)", () => {
  it("creates, gets, lists by label; a status write bumps generation (no status subresource), a metadata write does not", async () => {
    const created = await custom.createNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", body: upstream("team-a", "orders", { aws: { region: "us-east-1", extra: 1 } }, { tier: "gold" }) });
    expect(created.metadata.generation).toBe(1);
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.spec.aws).toEqual({ region: "us-east-1" });

    await custom.createNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", body: upstream("team-a", "billing", undefined, { tier: "silver" }) });
    const gold = await custom.listNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", labelSelector: "tier in (gold,platinum)" });
    expect(gold.items.map((u: { metadata: { name: string } }) => u.metadata.name)).toEqual(["orders"]);
    expect(Number(gold.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata.resourceVersion));

    const patched = await custom.patchNamespacedCustomObject(
      { ...UPSTREAM_API, namespace: "team-a", name: "orders", body: { status: { statuses: { credbroker: { state: "Accepted", reportedBy: "credbroker", details: { anything: [1] } } } } } },
      mergePatch,
    );
    expect(patched.status.statuses.credbroker.details).toEqual({ anything: [1] });
    expect(patched.metadata.generation).toBe(2);
    const labelled = await custom.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders", body: { metadata: { labels: { tier: "gold", extra: "y" } } } }, mergePatch);
    expect(labelled.metadata.generation).toBe(2);

    const specPatched = await custom.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders", body: { spec: { aws: { roleArn: "arn:aws:iam::1:role/r" } } } }, mergePatch);
    expect(specPatched.metadata.generation).toBe(3);
    const got = await custom.getNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders" });
    expect(got.spec.aws).toEqual({ region: "us-east-1", roleArn: "arn:aws:iam::1:role/r" });
  });

  it("applies a JSON patch by default (client-node's default content type) including a test op", async () => {
    const current = await custom.getNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "billing" });
    const patched = await custom.patchNamespacedCustomObject({
      ...UPSTREAM_API,
      namespace: "team-a",
      name: "billing",
      body: [
        { op: "test", path: "/metadata/resourceVersion", value: current.metadata.resourceVersion },
        { op: "add", path: "/spec/aws/lambdaFunctions", value: [{ logicalName: "f", lambdaFunctionName: "f", qualifier: "$LATEST" }] },
      ],
    });
    expect(patched.spec.aws.lambdaFunctions).toHaveLength(1);
    const failed = await expectStatus(custom.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "billing", body: [{ op: "test", path: "/spec/aws/region", value: "nope" }] }));
    expect(failed.code).toBe(422);
  });

  it("answers 409 Conflict for a stale resourceVersion on replace and on a merge patch precondition", async () => {
    const current = await custom.getNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders" });
    const stale = current.metadata.resourceVersion as string;
    await custom.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders", body: { metadata: { labels: { touched: "yes" } } } }, mergePatch);

    const replaced = await expectStatus(custom.replaceNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders", body: current }));
    expect(replaced).toMatchObject({
      code: 409,
      reason: "Conflict",
      message: 'Operation cannot be fulfilled on upstreams.gloo.solo.io "orders": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: "orders", group: "gloo.solo.io", kind: "upstreams" },
    });
    const patched = await expectStatus(
      custom.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders", body: { metadata: { resourceVersion: stale }, spec: { aws: { region: "eu-west-1" } } } }, mergePatch),
    );
    expect(patched.code).toBe(409);
  });

  it("answers 404 with a Status, and 404 for a create in a missing namespace", async () => {
    const missing = await expectStatus(custom.getNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "ghost" }));
    expect(missing).toMatchObject({ code: 404, kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", message: 'upstreams.gloo.solo.io "ghost" not found', details: { name: "ghost", kind: "upstreams" } });
    const noNs = await expectStatus(custom.createNamespacedCustomObject({ ...UPSTREAM_API, namespace: "nowhere", body: upstream("nowhere", "x") }));
    expect(noNs).toMatchObject({ code: 404, message: 'namespaces "nowhere" not found' });
    const dup = await expectStatus(custom.createNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", body: upstream("team-a", "orders") }));
    expect(dup).toMatchObject({ code: 409, reason: "AlreadyExists" });
  });
});

describe("secrets and leases", () => {
  it("stores stringData as base64 data and lists secrets", async () => {
    await core.createNamespacedSecret({ namespace: "team-a", body: { metadata: { name: "aws-creds" }, stringData: { aws_access_key_id: "AKIAEXAMPLE" }, data: { other: Buffer.from("x").toString("base64") } } });
    const secret = await core.readNamespacedSecret({ namespace: "team-a", name: "aws-creds" });
    expect(secret.type).toBe("Opaque");
    expect(secret.stringData).toBeUndefined();
    expect(Buffer.from(secret.data?.["aws_access_key_id"] ?? "", "base64").toString()).toBe("AKIAEXAMPLE");
    const list = await core.listNamespacedSecret({ namespace: "team-a" });
    expect(list.items.map((s) => s.metadata?.name)).toContain("aws-creds");
  });

  it("round-trips Lease MicroTimes with microseconds and replaces with optimistic concurrency", async () => {
    const leases = kubeConfigFor(emu, brokerToken, "gloo-system").makeApiClient(CoordinationV1Api);
    const acquired = new V1MicroTime("2026-01-02T03:04:05.123Z");
    const lease = await leases.createNamespacedLease({
      namespace: "gloo-system",
      body: { metadata: { name: "credbroker-leader" }, spec: { holderIdentity: "pod-a", leaseDurationSeconds: 15, acquireTime: acquired, renewTime: acquired } },
    });
    expect(lease.spec?.acquireTime as unknown).toBe("2026-01-02T03:04:05.123000Z");
    const renewed = await leases.replaceNamespacedLease({
      namespace: "gloo-system",
      name: "credbroker-leader",
      body: { ...lease, spec: { ...lease.spec, renewTime: new V1MicroTime("2026-01-02T03:04:15.456Z") } },
    });
    expect(renewed.spec?.renewTime as unknown).toBe("2026-01-02T03:04:15.456000Z");
    const stale = await expectStatus(leases.replaceNamespacedLease({ namespace: "gloo-system", name: "credbroker-leader", body: lease }));
    expect(stale.code).toBe(409);
  });
});

describe("watch", () => {
  it("streams ADDED, MODIFIED and DELETED across all namespaces from a list's resourceVersion", async () => {
    const admin = kubeConfigFor(emu, emu.adminToken);
    const list = await custom.listClusterCustomObject(UPSTREAM_API);
    const w = await RecordedWatch.start(admin, "/apis/gloo.solo.io/v1/upstreams", { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true });
    watches.push(w);
    await custom.createNamespacedCustomObject({ ...UPSTREAM_API, namespace: "default", body: upstream("default", "watched") });
    await custom.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "default", name: "watched", body: { metadata: { labels: { x: "1" } } } }, mergePatch);
    await custom.deleteNamespacedCustomObject({ ...UPSTREAM_API, namespace: "default", name: "watched" });
    const events = await w.until((evs) => evs.some((e) => e.type === "DELETED"));
    expect(events.filter((e) => e.type !== "BOOKMARK").map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(["ADDED watched", "MODIFIED watched", "DELETED watched"]);
    const rvs = events.map((e) => Number(e.object.metadata?.resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    w.stop();
  });

  it("starts a watch from resourceVersion 0 with ADDED for every current object of the namespace", async () => {
    const w = await RecordedWatch.start(kubeConfigFor(emu, emu.adminToken), "/apis/gloo.solo.io/v1/namespaces/team-a/upstreams", { resourceVersion: "0" });
    watches.push(w);
    const events = await w.until((evs) => evs.length >= 2);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`).sort()).toEqual(["ADDED billing", "ADDED orders"]);
    w.stop();
  });

  it("reports 410 Expired in an ERROR event for a resourceVersion older than the history window", async () => {
    const small = await createKubeEmulator({ historyLimit: 3 });
    try {
      small.apply(upstream("default", "first"));
      const firstRv = small.resourceVersion;
      for (let i = 0; i < 5; i++) small.apply(upstream("default", `u${i}`));
      const w = await RecordedWatch.start(kubeConfigFor(small, small.adminToken), "/apis/gloo.solo.io/v1/upstreams", { resourceVersion: firstRv });
      const [event] = await w.until((evs) => evs.length > 0);
      expect(event?.type).toBe("ERROR");
      expect(event?.object).toMatchObject({ kind: "Status", code: 410, reason: "Expired" });
      await w.untilEnded();
    } finally {
      await small.close();
    }
  });

  it("sends BOOKMARK events with the current resourceVersion when the client allows them", async () => {
    const chatty = await createKubeEmulator({ bookmarkIntervalMs: 20 });
    try {
      const w = await RecordedWatch.start(kubeConfigFor(chatty, chatty.adminToken), "/apis/gloo.solo.io/v1/upstreams", { resourceVersion: chatty.resourceVersion, allowWatchBookmarks: true });
      chatty.apply(upstream("default", "after-bookmark"));
      const events = await w.until((evs) => evs.some((e) => e.type === "BOOKMARK" && Number(e.object.metadata?.resourceVersion) >= Number(chatty.resourceVersion)));
      const bookmark = events.find((e) => e.type === "BOOKMARK");
      expect(bookmark?.object).toMatchObject({ kind: "Upstream", apiVersion: "gloo.solo.io/v1" });
      expect(Object.keys(bookmark?.object.metadata ?? {})).toEqual(["resourceVersion"]);
      w.stop();
    } finally {
      await chatty.close();
    }
  });

  it("ends open streams when the emulator closes", async () => {
    const other = await createKubeEmulator();
    const w = await RecordedWatch.start(kubeConfigFor(other, other.adminToken), "/api/v1/secrets", {});
    await other.close();
    expect(await w.untilEnded()).toBeDefined();
  });
});

describe("RBAC, TokenReview and SubjectAccessReview", () => {
  it("lets the credbroker service account patch upstreams but not delete them (403 with the real message)", async () => {
    const broker = kubeConfigFor(emu, brokerToken).makeApiClient(CustomObjectsApi);
    const patched = await broker.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders", body: { status: { statuses: { credbroker: { state: "Rejected" } } } } }, mergePatch);
    expect(patched.status.statuses.credbroker.state).toBe("Rejected");
    const denied = await expectStatus(broker.deleteNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders" }));
    expect(denied).toMatchObject({
      code: 403,
      reason: "Forbidden",
      message: 'upstreams.gloo.solo.io "orders" is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot delete resource "upstreams" in API group "gloo.solo.io" in the namespace "team-a"',
    });
  });

  it("reviews tokens and access with the broker's own credentials", async () => {
    const brokerKc = kubeConfigFor(emu, brokerToken);
    const caller = emu.issueServiceAccountToken("team-a", "ci", { audiences: ["credbroker"] });
    const review = await brokerKc.makeApiClient(AuthenticationV1Api).createTokenReview({ body: { spec: { token: caller, audiences: ["credbroker"] } } });
    expect(review.status).toMatchObject({
      authenticated: true,
      audiences: ["credbroker"],
      user: { username: "system:serviceaccount:team-a:ci", groups: ["system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"] },
    });
    const wrongAudience = await brokerKc.makeApiClient(AuthenticationV1Api).createTokenReview({ body: { spec: { token: caller, audiences: ["vault"] } } });
    expect(wrongAudience.status?.authenticated).toBeFalsy();

    const sar = brokerKc.makeApiClient(AuthorizationV1Api);
    const allowed = await sar.createSubjectAccessReview({
      body: { spec: { user: "system:serviceaccount:gloo-system:credbroker", groups: ["system:serviceaccounts"], resourceAttributes: { verb: "patch", group: "gloo.solo.io", resource: "upstreams", namespace: "team-a" } } },
    });
    expect(allowed.status?.allowed).toBe(true);
    expect(allowed.status?.reason).toContain('ClusterRoleBinding "credbroker"');
    const refused = await sar.createSubjectAccessReview({
      body: { spec: { user: "system:serviceaccount:team-a:ci", groups: ["system:serviceaccounts"], resourceAttributes: { verb: "patch", group: "gloo.solo.io", resource: "upstreams", namespace: "team-a" } } },
    });
    expect(refused.status?.allowed).toBe(false);
  });
});

describe("metadata-only secrets", () => {
  it("lists and watches secrets without their data", async () => {
    const metaKc = new MetadataOnlyKubeConfig();
    metaKc.loadFromString(emu.kubeconfig({ token: brokerToken }));
    const api = kubeConfigFor(emu, brokerToken).makeApiClient(CoreV1Api);
    const list = await api.listSecretForAllNamespaces({}, setHeaderOptions("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"));
    const listed = list as unknown as { kind: string; items: Array<Record<string, unknown>> };
    expect(listed.kind).toBe("PartialObjectMetadataList");
    expect(listed.items.length).toBeGreaterThan(0);
    for (const item of listed.items) {
      expect(Object.keys(item).sort()).toEqual(["apiVersion", "kind", "metadata"]);
      expect(JSON.stringify(item)).not.toContain(Buffer.from("AKIAEXAMPLE").toString("base64"));
    }

    const w = await RecordedWatch.start(metaKc, "/api/v1/secrets", { resourceVersion: list.metadata?.resourceVersion ?? "" });
    watches.push(w);
    await core.createNamespacedSecret({ namespace: "team-a", body: { metadata: { name: "rotated" }, stringData: { aws_secret_access_key: "s3cr3t" } } });
    const [event] = await w.until((evs) => evs.length > 0);
    expect(event?.type).toBe("ADDED");
    expect(event?.object.kind).toBe("PartialObjectMetadata");
    expect(event?.object["data"]).toBeUndefined();
    expect(event?.object.metadata?.name).toBe("rotated");
    w.stop();
  });
});
