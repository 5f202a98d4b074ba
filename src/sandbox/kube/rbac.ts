// RBAC evaluation over the Roles, ClusterRoles and bindings currently stored, with the real API's allow reasons and deny messages.
import { isObject, type JsonObject } from "../../model/fields.js";
import { qualifiedResource } from "./status.js";
import type { UserInfo } from "./tokens.js";

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface NonResourceAttributes {
  verb: string;
  path: string;
}

export type Decision = { allowed: true; reason: string } | { allowed: false; reason: string };

/** The read side of the store RBAC needs; objects come back as stored (never mutated here). */
export interface RbacObjects {
  list(resource: "clusterroles" | "clusterrolebindings" | "roles" | "rolebindings", namespace?: string): Iterable<JsonObject>;
  get(resource: "clusterroles" | "roles", namespace: string, name: string): JsonObject | undefined;
}

const SUPERUSER_GROUP = "system:masters";

/** Paths every authenticated user may read, as the default system:discovery and system:public-info-viewer roles grant. */
const DISCOVERY_PATHS = ["/api", "/api/*", "/apis", "/apis/*", "/version", "/version/", "/healthz", "/livez", "/readyz", "/openapi/*"];

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function rulesOf(role: JsonObject | undefined): JsonObject[] {
  const rules = role?.["rules"];
  return Array.isArray(rules) ? rules.filter(isObject) : [];
}

function nameOf(obj: JsonObject): string {
  const meta = obj["metadata"];
  return isObject(meta) && typeof meta["name"] === "string" ? meta["name"] : "";
}

function namespaceOf(obj: JsonObject): string {
  const meta = obj["metadata"];
  return isObject(meta) && typeof meta["namespace"] === "string" ? meta["namespace"] : "";
}

function subjectDescription(subject: JsonObject): string | undefined {
  const kind = subject["kind"];
  const name = typeof subject["name"] === "string" ? subject["name"] : "";
  if (kind === "ServiceAccount") return `ServiceAccount "${name}/${typeof subject["namespace"] === "string" ? subject["namespace"] : ""}"`;
  if (kind === "User" || kind === "Group") return `${kind} "${name}"`;
  return undefined;
}

function subjectMatches(subject: JsonObject, user: UserInfo, bindingNamespace: string): boolean {
  const name = subject["name"];
  switch (subject["kind"]) {
    case "User":
      return name === user.username;
    case "Group":
      return typeof name === "string" && user.groups.includes(name);
    case "ServiceAccount": {
      const ns = typeof subject["namespace"] === "string" && subject["namespace"] !== "" ? subject["namespace"] : bindingNamespace;
      return user.username === `system:serviceaccount:${ns}:${String(name)}`;
    }
    default:
      return false;
  }
}

function ruleAllowsResource(rule: JsonObject, attrs: ResourceAttributes): boolean {
  const verbs = strings(rule["verbs"]);
  if (!verbs.includes("*") && !verbs.includes(attrs.verb)) return false;
  const groups = strings(rule["apiGroups"]);
  if (!groups.includes("*") && !groups.includes(attrs.group)) return false;
  const resources = strings(rule["resources"]);
  const combined = attrs.subresource === "" ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  const resourceOk =
    resources.includes("*") ||
    resources.includes(combined) ||
    (attrs.subresource !== "" && resources.includes(`*/${attrs.subresource}`));
  if (!resourceOk) return false;
  const names = strings(rule["resourceNames"]);
  return names.length === 0 || (attrs.name !== "" && names.includes(attrs.name));
}

function pathMatches(pattern: string, path: string): boolean {
  return pattern === "*" || pattern === path || (pattern.endsWith("*") && path.startsWith(pattern.slice(0, -1)));
}

function ruleAllowsPath(rule: JsonObject, attrs: NonResourceAttributes): boolean {
  const verbs = strings(rule["verbs"]);
  if (!verbs.includes("*") && !verbs.includes(attrs.verb)) return false;
  return strings(rule["nonResourceURLs"]).some((p) => pathMatches(p, attrs.path));
}

/** Evaluates requests against the live RBAC objects; reads the store on every call, so edits apply at once. */
export class RbacEvaluator {
  constructor(private readonly objects: RbacObjects) {}

  private roleFor(binding: JsonObject, bindingNamespace: string): { role: JsonObject | undefined; description: string } {
    const ref = isObject(binding["roleRef"]) ? binding["roleRef"] : {};
    const name = typeof ref["name"] === "string" ? ref["name"] : "";
    if (ref["kind"] === "Role") return { role: this.objects.get("roles", bindingNamespace, name), description: `Role "${name}"` };
    return { role: this.objects.get("clusterroles", "", name), description: `ClusterRole "${name}"` };
  }

  private search(user: UserInfo, namespace: string, allows: (rule: JsonObject) => boolean): Decision {
    if (user.groups.includes(SUPERUSER_GROUP)) return { allowed: true, reason: `allowed by group "${SUPERUSER_GROUP}"` };
    const tryBindings = (kind: string, bindings: Iterable<JsonObject>): Decision | undefined => {
      for (const binding of bindings) {
        const bindingNs = namespaceOf(binding);
        const subjects = Array.isArray(binding["subjects"]) ? binding["subjects"].filter(isObject) : [];
        const subject = subjects.find((s) => subjectMatches(s, user, bindingNs));
        if (!subject) continue;
        const { role, description } = this.roleFor(binding, bindingNs);
        if (rulesOf(role).some(allows)) {
          const where = kind === "RoleBinding" ? `RoleBinding "${nameOf(binding)}/${bindingNs}"` : `ClusterRoleBinding "${nameOf(binding)}"`;
          return { allowed: true, reason: `RBAC: allowed by ${where} of ${description} to ${subjectDescription(subject) ?? "subject"}` };
        }
      }
      return undefined;
    };
    const cluster = tryBindings("ClusterRoleBinding", this.objects.list("clusterrolebindings"));
    if (cluster) return cluster;
    if (namespace !== "") {
      const local = tryBindings("RoleBinding", this.objects.list("rolebindings", namespace));
      if (local) return local;
    }
    return { allowed: false, reason: "" };
  }

  authorizeResource(user: UserInfo, attrs: ResourceAttributes): Decision {
    return this.search(user, attrs.namespace, (rule) => ruleAllowsResource(rule, attrs));
  }

  authorizePath(user: UserInfo, attrs: NonResourceAttributes): Decision {
    if (attrs.verb === "get" && DISCOVERY_PATHS.some((p) => pathMatches(p, attrs.path))) return { allowed: true, reason: "allowed by discovery" };
    return this.search(user, "", (rule) => ruleAllowsPath(rule, attrs));
  }
}

/**
 * The real API's 403 text: `upstreams.gloo.solo.io "x" is forbidden: User "u" cannot patch resource "upstreams"
 * in API group "gloo.solo.io" in the namespace "ns"` (or `at the cluster scope`).
 */
export function forbiddenMessage(user: UserInfo, attrs: ResourceAttributes): string {
  const what = qualifiedResource(attrs.resource, attrs.group);
  const subject = attrs.name !== "" ? `${what} "${attrs.name}"` : what;
  const resource = attrs.subresource === "" ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  const scope = attrs.namespace !== "" ? `in the namespace "${attrs.namespace}"` : "at the cluster scope";
  return `${subject} is forbidden: User "${user.username}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.group}" ${scope}`;
}
