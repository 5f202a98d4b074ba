// Maps an HTTP request to what it asks for: a discovery document, or a verb on a resource (with namespace, name, subresource).
import type { ResourceRegistry, ResourceType } from "./resources.js";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

export type Route =
  | { kind: "public"; doc: "version" | "health" }
  | { kind: "discovery"; doc: "core" | "groups" | "group" | "resources"; group: string; version: string }
  | { kind: "openapi" }
  | { kind: "resource"; type: ResourceType; namespace: string | undefined; name: string; subresource: string; verb: Verb }
  | { kind: "unknown" };

function verbFor(method: string, name: string, watch: boolean): Verb | undefined {
  switch (method) {
    case "GET":
      if (watch) return "watch";
      return name === "" ? "list" : "get";
    case "POST":
      return name === "" ? "create" : undefined;
    case "PUT":
      return name === "" ? undefined : "update";
    case "PATCH":
      return name === "" ? undefined : "patch";
    case "DELETE":
      return name === "" ? "deletecollection" : "delete";
    default:
      return undefined;
  }
}

/** Parses `/api/v1/...` and `/apis/<group>/<version>/...` paths; a verb the path cannot take yields `unknown`. */
export function route(registry: ResourceRegistry, method: string, path: string, watch: boolean): Route {
  const segs = path.split("/").filter((s) => s !== "").map(decodeURIComponent);
  if (path === "/version" || path === "/version/") return { kind: "public", doc: "version" };
  if (["/healthz", "/livez", "/readyz"].includes(path)) return { kind: "public", doc: "health" };
  if (segs[0] === "openapi") return { kind: "openapi" };
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === "api") {
    if (segs.length === 1) return { kind: "discovery", doc: "core", group: "", version: "" };
    group = "";
    version = segs[1] ?? "";
    rest = segs.slice(2);
  } else if (segs[0] === "apis") {
    if (segs.length === 1) return { kind: "discovery", doc: "groups", group: "", version: "" };
    if (segs.length === 2) return { kind: "discovery", doc: "group", group: segs[1] ?? "", version: "" };
    group = segs[1] ?? "";
    version = segs[2] ?? "";
    rest = segs.slice(3);
  } else return { kind: "unknown" };
  if (rest.length === 0) return { kind: "discovery", doc: "resources", group, version };

  let namespace: string | undefined;
  let plural: string;
  let name: string;
  let subresource: string;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1] ?? "";
    plural = rest[2] ?? "";
    name = rest[3] ?? "";
    subresource = rest[4] ?? "";
    if (rest.length > 5) return { kind: "unknown" };
  } else {
    plural = rest[0] ?? "";
    name = rest[1] ?? "";
    subresource = rest[2] ?? "";
    if (rest.length > 3) return { kind: "unknown" };
  }
  const type = registry.find(group, version, plural);
  if (!type) return { kind: "unknown" };
  if (!type.namespaced && namespace !== undefined) return { kind: "unknown" };
  const verb = verbFor(method, name, watch);
  if (!verb) return { kind: "unknown" };
  return { kind: "resource", type, namespace, name, subresource, verb };
}

/** Fault and counter name of a request: `list upstreams`, `create tokenreviews`, `discovery`. */
export function operationName(r: Route): string {
  switch (r.kind) {
    case "resource":
      return `${r.verb} ${r.type.plural}${r.subresource !== "" ? `/${r.subresource}` : ""}`;
    case "discovery":
    case "openapi":
      return "discovery";
    case "public":
      return r.doc;
    case "unknown":
      return "unknown";
  }
}

/**
 * Every name `operationName` can give, for validating fault settings: each served verb of each
 * resource (`patch upstreams`), plus `discovery`, `version`, `health` and `unknown`. Sorted.
 */
export function kubeOperationNames(registry: ResourceRegistry): string[] {
  const names = new Set(["discovery", "version", "health", "unknown"]);
  for (const t of registry.types) for (const verb of t.verbs) names.add(`${verb} ${t.plural}`);
  return [...names].sort();
}
