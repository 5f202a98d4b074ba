// The resource types the emulator serves: group, version, plural, kind, scope and verbs, as discovery documents them.

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: readonly string[];
  verbs: readonly string[];
  /** Compiled-in kinds accept strategic merge patch and allow unconditional PUT; custom resources do not. */
  builtIn: boolean;
  /** Review kinds (TokenReview, SubjectAccessReview) are answered on create and never stored. */
  virtual: boolean;
  /** Kinds with `metadata.generation`: bumped when the spec changes, or for custom resources (no status subresource here) on any change outside metadata. */
  hasGeneration: boolean;
  /** Field selector labels beyond metadata.name and metadata.namespace. */
  fieldLabels: readonly string[];
}

const CRUD = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] as const;

function type(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<Pick<ResourceType, "shortNames" | "verbs" | "builtIn" | "virtual" | "hasGeneration" | "fieldLabels">> = {},
): ResourceType {
  return {
    group,
    version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    shortNames: extra.shortNames ?? [],
    verbs: extra.verbs ?? CRUD,
    builtIn: extra.builtIn ?? true,
    virtual: extra.virtual ?? false,
    hasGeneration: extra.hasGeneration ?? false,
    fieldLabels: extra.fieldLabels ?? [],
  };
}

const EVENT_FIELDS = [
  "involvedObject.kind",
  "involvedObject.namespace",
  "involvedObject.name",
  "involvedObject.uid",
  "involvedObject.apiVersion",
  "reason",
  "type",
];

/** Every served type; the first entry of a group decides its preferred version. */
export function builtInResourceTypes(): ResourceType[] {
  return [
    type("", "v1", "namespaces", "Namespace", false, { shortNames: ["ns"], fieldLabels: ["status.phase"] }),
    type("", "v1", "secrets", "Secret", true, { fieldLabels: ["type"] }),
    type("", "v1", "serviceaccounts", "ServiceAccount", true, { shortNames: ["sa"] }),
    type("", "v1", "configmaps", "ConfigMap", true, { shortNames: ["cm"] }),
    type("", "v1", "events", "Event", true, { shortNames: ["ev"], fieldLabels: EVENT_FIELDS }),
    type("events.k8s.io", "v1", "events", "Event", true, { shortNames: ["ev"], fieldLabels: ["regarding.kind", "regarding.namespace", "regarding.name", "reason", "type"] }),
    type("coordination.k8s.io", "v1", "leases", "Lease", true),
    type("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false, { verbs: ["create"], virtual: true }),
    type("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", false, { verbs: ["create"], virtual: true }),
    type("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
    type("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
    type("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
    type("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
    type("gloo.solo.io", "v1", "upstreams", "Upstream", true, { shortNames: ["us", "gus"], builtIn: false, hasGeneration: true }),
  ];
}

export function groupVersion(t: Pick<ResourceType, "group" | "version">): string {
  return t.group === "" ? t.version : `${t.group}/${t.version}`;
}

/** The key objects of one type are stored under: `gloo.solo.io/v1/upstreams`, `v1/secrets`. */
export function resourceKey(t: Pick<ResourceType, "group" | "version" | "plural">): string {
  return `${groupVersion(t)}/${t.plural}`;
}

/** Looks types up by (group, version, plural) and by (apiVersion, kind). */
export class ResourceRegistry {
  private readonly byKey = new Map<string, ResourceType>();
  private readonly byKind = new Map<string, ResourceType>();

  constructor(readonly types: readonly ResourceType[]) {
    for (const t of types) {
      this.byKey.set(resourceKey(t), t);
      this.byKind.set(`${groupVersion(t)}|${t.kind}`, t);
    }
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byKey.get(resourceKey({ group, version, plural }));
  }

  forKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.byKind.get(`${apiVersion}|${kind}`);
  }

  groups(): string[] {
    return [...new Set(this.types.filter((t) => t.group !== "").map((t) => t.group))];
  }

  versionsOf(group: string): string[] {
    return [...new Set(this.types.filter((t) => t.group === group).map((t) => t.version))];
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.types.filter((t) => t.group === group && t.version === version);
  }
}
