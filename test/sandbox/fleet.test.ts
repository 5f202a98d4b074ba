import { describe, expect, it } from "vitest";
import { parseAwsSeed } from "../../src/sandbox/aws/seed.js";
import { fleetKeys, generateFleet, generateMixedFleet, rotatedFleetKeys } from "../../src/sandbox/fleet.js";

const upstreamsOf = (objects: readonly Record<string, unknown>[]) => objects.filter((o) => o.kind === "Upstream");

describe("generateFleet", () => {
  it("spreads upstreams round-robin over credentials and regions when asked for a plain AWS fleet", () => {
    const seed = generateFleet({ upstreams: 40, credentials: 4, functionsPerRegion: 5 });
    const objects = seed.kubernetes?.objects ?? [];
    expect(upstreamsOf(objects)).toHaveLength(40);
    expect(objects.filter((o) => o.kind === "Secret")).toHaveLength(4);
    expect(seed.aws?.accounts[0]?.users).toHaveLength(4);
    expect(seed.aws?.accounts[0]?.users?.[0]?.accessKeyId).toBe(fleetKeys(0).accessKeyId);
  });
});

describe("generateMixedFleet", () => {
  const fleet = generateMixedFleet({ cloudUpstreams: 1000 });
  const objects = fleet.seed.kubernetes?.objects ?? [];

  it("makes 80% AWS, 15% Azure and 5% awsEc2 plus as many kube upstreams when given the defaults", () => {
    expect(fleet.upstreams.aws).toHaveLength(800);
    expect(fleet.upstreams.azure).toHaveLength(150);
    expect(fleet.upstreams.awsEc2).toHaveLength(50);
    expect(fleet.upstreams.kube).toHaveLength(1000);
    expect(upstreamsOf(objects)).toHaveLength(2000);
    const keys = new Set(upstreamsOf(objects).map((o) => `${(o.metadata as { namespace: string }).namespace}/${(o.metadata as { name: string }).name}`));
    expect(keys.size).toBe(2000);
    expect(objects.filter((o) => o.kind === "Namespace")).toHaveLength(50);
  });

  it("gives each type one credential per 20 upstreams when given the defaults", () => {
    const byKind = (kind: string) => fleet.credentials.filter((c) => c.kind === kind);
    expect(byKind("aws")).toHaveLength(40);
    expect(byKind("azure")).toHaveLength(8);
    expect(byKind("awsEc2")).toHaveLength(3);
    for (const c of byKind("aws")) expect(c.upstreams).toHaveLength(20);
    expect(byKind("aws")[0]?.regions).toHaveLength(4);
  });

  it("asks for discovery on half of the cloud upstreams", () => {
    const cloud = upstreamsOf(objects).filter((o) => (o.spec as Record<string, unknown>).kube === undefined);
    const asking = cloud.filter((o) => (o.metadata as { annotations?: Record<string, string> }).annotations?.["discovery.solo.io/function_discovery"] === "enabled");
    expect(asking).toHaveLength(500);
  });

  it("seeds every AWS account-region with the functions, versions and aliases asked for, in a shape the emulator accepts", () => {
    const aws = parseAwsSeed(fleet.seed.aws);
    expect(aws.accounts).toHaveLength(5);
    const fns = aws.accounts[0]?.functions ?? [];
    expect(fns).toHaveLength(400);
    expect(fns[0]).toMatchObject({ versions: 2, aliases: [{ name: "live", version: 2 }] });
    expect(aws.accounts.flatMap((a) => a.users ?? [])).toHaveLength(43);
  });

  it("gives every Azure upstream its own function app in its principal's resource group", () => {
    const groups = fleet.seed.azure?.subscriptions?.[0]?.resourceGroups ?? [];
    expect(groups).toHaveLength(8);
    expect(groups.flatMap((g) => g.functionApps ?? [])).toHaveLength(150);
    expect(fleet.seed.azure?.tenants?.[0]?.principals).toHaveLength(8);
  });

  it("rotates to new keys and keeps rotation 0 equal to fleetKeys", () => {
    expect(rotatedFleetKeys(3, 0)).toEqual(fleetKeys(3));
    expect(rotatedFleetKeys(3, 1).accessKeyId).not.toBe(fleetKeys(3).accessKeyId);
    expect(rotatedFleetKeys(3, 1)).toEqual(rotatedFleetKeys(3, 1));
  });

  it("is the same fleet every time it is generated with the same options", () => {
    expect(generateMixedFleet({ cloudUpstreams: 100 })).toEqual(generateMixedFleet({ cloudUpstreams: 100 }));
  });
});
