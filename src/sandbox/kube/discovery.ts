// Discovery documents (/version, /api, /apis, resource lists) in the non-aggregated form every client falls back to.
import type { JsonObject } from "../../model/fields.js";
import { groupVersion, type ResourceRegistry, type ResourceType } from "./resources.js";

export const SERVER_VERSION = { major: "1", minor: "32", gitVersion: "v1.32.0" };

export function versionDocument(): JsonObject {
  return {
    ...SERVER_VERSION,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2025-01-01T00:00:00Z",
    goVersion: "go1.23.4",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

export function coreVersions(serverAddress: string): JsonObject {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

function groupEntry(registry: ResourceRegistry, group: string): JsonObject {
  const versions = registry.versionsOf(group).map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function groupList(registry: ResourceRegistry): JsonObject {
  return { kind: "APIGroupList", apiVersion: "v1", groups: registry.groups().map((g) => groupEntry(registry, g)) };
}

/** The APIGroup document, or undefined for a group we do not serve. */
export function groupDocument(registry: ResourceRegistry, group: string): JsonObject | undefined {
  if (!registry.groups().includes(group)) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupEntry(registry, group) };
}

function resourceEntry(t: ResourceType): JsonObject {
  const entry: JsonObject = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: [...t.verbs] };
  if (t.shortNames.length > 0) entry["shortNames"] = [...t.shortNames];
  if (t.group === "gloo.solo.io") entry["categories"] = ["gloo-gateway"];
  return entry;
}

/** The APIResourceList of one group version, or undefined when it is not served. */
export function resourceList(registry: ResourceRegistry, group: string, version: string): JsonObject | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const first = types[0];
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: first ? groupVersion(first) : version, resources: types.map(resourceEntry) };
}
