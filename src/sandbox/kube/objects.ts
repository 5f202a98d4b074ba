// Object semantics over the store: create, replace, patch, delete, get and list with the API server's metadata, precondition and error rules.
import { randomBytes, randomUUID } from "node:crypto";
import { isObject, type JsonObject } from "../../model/fields.js";
import { applyMergePatch } from "./merge-patch.js";
import { normalize } from "./kinds.js";
import { deepEqual, jsonPatch, JsonPatchError, stripStrategicDirectives } from "./patch.js";
import { groupVersion, resourceKey, type ResourceRegistry, type ResourceType } from "./resources.js";
import type { SchemaNode } from "./schema.js";
import type { Matcher } from "./selectors.js";
import { alreadyExists, badRequest, conflict, invalid, KubeStatusError, notFound, preconditionFailed, unsupportedMediaType } from "./status.js";
import type { ObjectStore } from "./store.js";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export interface WriteOptions {
  fieldValidation?: FieldValidation;
  dryRun?: boolean;
}

export interface WriteResult {
  object: JsonObject;
  warnings: string[];
}

export interface ListQuery {
  namespace?: string;
  matcher?: Matcher;
  limit?: number;
  continueToken?: string;
}

export interface ListPage {
  items: JsonObject[];
  resourceVersion: string;
  continueToken?: string;
}

export interface DeletePreconditions {
  uid?: string;
  resourceVersion?: string;
}

export const MERGE_PATCH = "application/merge-patch+json";
export const JSON_PATCH = "application/json-patch+json";
export const STRATEGIC_PATCH = "application/strategic-merge-patch+json";
export const APPLY_PATCH = "application/apply-patch+yaml";

const SERVER_FIELDS = ["uid", "resourceVersion", "creationTimestamp", "generation", "selfLink", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"];

export function metaOf(obj: JsonObject): JsonObject {
  const meta = obj["metadata"];
  return isObject(meta) ? meta : {};
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** A timestamp as Kubernetes prints `metav1.Time`: RFC 3339, whole seconds, UTC. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv, start: lastKey })).toString("base64url");
}

function decodeContinue(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown;
    if (isObject(parsed) && typeof parsed["start"] === "string") return parsed["start"];
  } catch {
    // falls through to the 400 below
  }
  throw badRequest("continue key is not valid: illegal base64 data at input byte 0");
}

/** Implements the verbs for every stored type; used by the HTTP handlers and by the in-process seeding API alike. */
export class ObjectApi {
  constructor(
    private readonly store: ObjectStore,
    readonly registry: ResourceRegistry,
    private readonly upstreamSchema: SchemaNode,
    private readonly nowMs: () => number,
  ) {}

  private checkNamespace(t: ResourceType, namespace: string): void {
    if (!t.namespaced) return;
    if (namespace === "") throw badRequest("the server could not find the requested resource: namespace is required");
    if (this.store.get("v1/namespaces", "", namespace) === undefined) throw notFound("namespaces", "", namespace);
  }

  private checkIdentity(t: ResourceType, body: unknown): JsonObject {
    if (!isObject(body)) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)?.slice(0, 100) ?? ""}'`);
    const apiVersion = body["apiVersion"];
    const kind = body["kind"];
    if (apiVersion !== undefined && apiVersion !== groupVersion(t))
      throw badRequest(`the API version in the data (${JSON.stringify(apiVersion)}) does not match the expected API version (${groupVersion(t)})`);
    if (kind !== undefined && kind !== t.kind) throw badRequest(`the kind in the data (${JSON.stringify(kind)}) does not match the expected kind (${t.kind})`);
    return body;
  }

  get(t: ResourceType, namespace: string, name: string): JsonObject {
    const obj = this.store.get(resourceKey(t), t.namespaced ? namespace : "", name);
    if (!obj) throw notFound(t.plural, t.group, name);
    return obj;
  }

  find(t: ResourceType, namespace: string, name: string): JsonObject | undefined {
    return this.store.get(resourceKey(t), t.namespaced ? namespace : "", name);
  }

  list(t: ResourceType, query: ListQuery): ListPage {
    const rv = this.store.resourceVersion;
    const after = query.continueToken !== undefined && query.continueToken !== "" ? decodeContinue(query.continueToken) : undefined;
    const limit = query.limit !== undefined && query.limit > 0 ? query.limit : Infinity;
    const items: JsonObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    for (const obj of this.store.scan(resourceKey(t), t.namespaced ? query.namespace : undefined, after)) {
      if (query.matcher && !query.matcher(obj)) continue;
      if (items.length >= limit) {
        more = true;
        break;
      }
      items.push(obj);
      const meta = metaOf(obj);
      lastKey = `${str(meta["namespace"])}/${str(meta["name"])}`;
    }
    const page: ListPage = { items, resourceVersion: String(rv) };
    if (more && lastKey !== undefined) page.continueToken = encodeContinue(rv, lastKey);
    return page;
  }

  /** Fills the fields only the server sets, carrying identity from `existing` on replace. */
  private finish(t: ResourceType, obj: JsonObject, existing: JsonObject | undefined): JsonObject {
    const meta = { ...metaOf(obj) };
    for (const f of SERVER_FIELDS) delete meta[f];
    if (existing) {
      const old = metaOf(existing);
      meta["uid"] = old["uid"];
      meta["creationTimestamp"] = old["creationTimestamp"];
      if (t.hasGeneration) {
        const gen = typeof old["generation"] === "number" ? old["generation"] : 1;
        meta["generation"] = deepEqual(generationContent(t, obj), generationContent(t, existing)) ? gen : gen + 1;
      }
    } else {
      meta["uid"] = randomUUID();
      meta["creationTimestamp"] = kubeTime(this.nowMs());
      if (t.hasGeneration) meta["generation"] = 1;
    }
    if (!t.namespaced) delete meta["namespace"];
    for (const f of ["labels", "annotations"]) if (meta[f] === null) delete meta[f];
    return { ...obj, apiVersion: groupVersion(t), kind: t.kind, metadata: meta };
  }

  private prepared(t: ResourceType, body: JsonObject, options: WriteOptions): { object: JsonObject; warnings: string[] } {
    const { object, pruned } = normalize(t, body, this.upstreamSchema);
    if (pruned.length > 0 && options.fieldValidation === "Strict")
      throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(", ")}`);
    const warnings = options.fieldValidation === "Ignore" ? [] : pruned.map((p) => `unknown field "${p}"`);
    return { object, warnings };
  }

  private write(t: ResourceType, namespace: string, name: string, type: "ADDED" | "MODIFIED", object: JsonObject, dryRun: boolean): JsonObject {
    if (dryRun) return { ...object, metadata: { ...metaOf(object), resourceVersion: String(this.store.resourceVersion) } };
    const rv = this.store.nextResourceVersion();
    const stored = { ...object, metadata: { ...metaOf(object), resourceVersion: String(rv) } };
    this.store.commit(resourceKey(t), namespace, name, type, stored, rv);
    return stored;
  }

  /** POST: 404 when the namespace is missing, 409 AlreadyExists, 422 Invalid; returns the stored object. */
  create(t: ResourceType, namespace: string, body: unknown, options: WriteOptions = {}): WriteResult {
    const input = structuredClone(this.checkIdentity(t, body));
    const meta = { ...metaOf(input) };
    const ns = t.namespaced ? namespace : "";
    if (t.namespaced && meta["namespace"] !== undefined && meta["namespace"] !== "" && meta["namespace"] !== ns)
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    if (str(meta["name"]) === "" && str(meta["generateName"]) !== "") meta["name"] = `${str(meta["generateName"])}${randomBytes(4).toString("hex").slice(0, 5)}`;
    const name = str(meta["name"]);
    if (name === "") throw invalid(t.kind, t.group, "", [{ reason: "FieldValueRequired", message: "Required value: name or generateName is required", field: "metadata.name" }]);
    if (t.namespaced) meta["namespace"] = ns;
    this.checkNamespace(t, ns);
    if (this.find(t, ns, name)) throw alreadyExists(t.plural, t.group, name);
    const { object, warnings } = this.prepared(t, { ...input, metadata: meta }, options);
    return { object: this.write(t, ns, name, "ADDED", this.finish(t, object, undefined), options.dryRun === true), warnings };
  }

  /**
   * PUT: 404 when absent, 409 Conflict on a stale resourceVersion, 422 when a custom resource omits it
   * (compiled-in kinds allow an unconditional replace). An update that changes nothing writes nothing.
   */
  update(t: ResourceType, namespace: string, name: string, body: unknown, options: WriteOptions = {}): WriteResult {
    const input = structuredClone(this.checkIdentity(t, body));
    const ns = t.namespaced ? namespace : "";
    const meta = { ...metaOf(input) };
    if (str(meta["name"]) !== name) throw badRequest(`the name of the object (${str(meta["name"])}) does not match the name on the URL (${name})`);
    if (t.namespaced && meta["namespace"] !== undefined && meta["namespace"] !== "" && meta["namespace"] !== ns)
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    const existing = this.find(t, ns, name);
    if (!existing) throw notFound(t.plural, t.group, name);
    const old = metaOf(existing);
    const rv = str(meta["resourceVersion"]);
    if (rv === "" && !t.builtIn)
      throw invalid(t.kind, t.group, name, [{ reason: "FieldValueInvalid", message: "Invalid value: 0x0: must be specified for an update", field: "metadata.resourceVersion" }]);
    if (rv !== "" && rv !== old["resourceVersion"]) throw conflict(t.plural, t.group, name);
    if (str(meta["uid"]) !== "" && meta["uid"] !== old["uid"])
      throw preconditionFailed(t.plural, t.group, name, `UID in precondition: ${str(meta["uid"])}, UID in object meta: ${str(old["uid"])}`);
    if (t.namespaced) meta["namespace"] = ns;
    const { object, warnings } = this.prepared(t, { ...input, metadata: meta }, options);
    const next = this.finish(t, object, existing);
    if (deepEqual({ ...next, metadata: { ...metaOf(next), resourceVersion: old["resourceVersion"] } }, existing)) return { object: existing, warnings };
    return { object: this.write(t, ns, name, "MODIFIED", next, options.dryRun === true), warnings };
  }

  /**
   * PATCH with merge, JSON or (compiled-in kinds only) strategic merge patch; a resourceVersion in the
   * patched result is a precondition. Throws 415 for other content types, 422 for a failing JSON patch.
   */
  patch(t: ResourceType, namespace: string, name: string, contentType: string, body: Buffer, options: WriteOptions = {}): WriteResult {
    const accepted = t.builtIn ? [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH] : [JSON_PATCH, MERGE_PATCH];
    if (!accepted.includes(contentType)) throw unsupportedMediaType(contentType, accepted);
    let patchDoc: unknown;
    try {
      patchDoc = JSON.parse(body.toString("utf8"));
    } catch {
      throw badRequest("error decoding patch: invalid JSON");
    }
    const existing = this.get(t, namespace, name);
    let patched: unknown;
    try {
      if (contentType === JSON_PATCH) patched = jsonPatch(existing, patchDoc);
      else if (contentType === STRATEGIC_PATCH) patched = applyMergePatch(existing, stripStrategicDirectives(patchDoc));
      else patched = applyMergePatch(existing, patchDoc);
    } catch (err) {
      if (err instanceof JsonPatchError) throw new KubeStatusError(422, "Invalid", `the server rejected our request due to an error in our request: ${err.message}`);
      throw err;
    }
    if (!isObject(patched)) throw badRequest("the patch must leave an object");
    const meta = { ...metaOf(patched) };
    const rv = str(meta["resourceVersion"]);
    if (rv !== "" && rv !== metaOf(existing)["resourceVersion"]) throw conflict(t.plural, t.group, name);
    meta["resourceVersion"] = metaOf(existing)["resourceVersion"];
    return this.update(t, namespace, name, { ...patched, metadata: meta }, options);
  }

  /** DELETE: immediate (no finalizers); a namespace takes its objects with it. Returns the deleted object. */
  remove(t: ResourceType, namespace: string, name: string, preconditions: DeletePreconditions = {}, dryRun = false): JsonObject {
    const ns = t.namespaced ? namespace : "";
    const existing = this.get(t, ns, name);
    const meta = metaOf(existing);
    if (preconditions.uid !== undefined && preconditions.uid !== meta["uid"])
      throw preconditionFailed(t.plural, t.group, name, `UID in precondition: ${preconditions.uid}, UID in object meta: ${str(meta["uid"])}`);
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== meta["resourceVersion"])
      throw preconditionFailed(t.plural, t.group, name, `ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${str(meta["resourceVersion"])}`);
    if (dryRun) return existing;
    if (t.plural === "namespaces" && t.group === "") this.removeNamespaceContents(name);
    const rv = this.store.nextResourceVersion();
    const last = { ...existing, metadata: { ...meta, resourceVersion: String(rv) } };
    this.store.commit(resourceKey(t), ns, name, "DELETED", last, rv);
    return last;
  }

  private removeNamespaceContents(namespace: string): void {
    for (const t of this.registry.types) {
      if (!t.namespaced || t.virtual) continue;
      const victims = [...this.store.scan(resourceKey(t), namespace, undefined)];
      for (const obj of victims) this.remove(t, namespace, str(metaOf(obj)["name"]));
    }
  }

  /** Create-or-replace for seeding: creates a missing namespace, ignores resourceVersion; throws 400/422 like the API. */
  apply(body: unknown): JsonObject {
    if (!isObject(body)) throw badRequest("an object is required");
    const t = this.registry.forKind(str(body["apiVersion"]), str(body["kind"]));
    if (!t || t.virtual) throw badRequest(`no kind "${str(body["kind"])}" is registered for version "${str(body["apiVersion"])}"`);
    const meta = metaOf(body);
    const ns = t.namespaced ? str(meta["namespace"]) || "default" : "";
    if (t.namespaced && !this.find(this.namespaceType(), "", ns)) this.create(this.namespaceType(), "", { metadata: { name: ns } });
    const name = str(meta["name"]);
    const existing = name === "" ? undefined : this.find(t, ns, name);
    if (existing) {
      const current = metaOf(existing);
      const replacement = { ...meta, namespace: ns, resourceVersion: current["resourceVersion"], uid: current["uid"] };
      return this.update(t, ns, name, { ...body, metadata: replacement }, { fieldValidation: "Ignore" }).object;
    }
    return this.create(t, ns, { ...body, metadata: { ...meta, namespace: ns } }, { fieldValidation: "Ignore" }).object;
  }

  private namespaceType(): ResourceType {
    const t = this.registry.find("", "v1", "namespaces");
    if (!t) throw new Error("namespaces are not registered");
    return t;
  }
}

/**
 * The part of an object whose change bumps `metadata.generation`. A custom resource without a
 * status subresource (Gloo's Upstream) has status as an ordinary field, so the real API server
 * bumps on any change outside `metadata`, status included (apiextensions-apiserver's
 * customResourceStrategy.PrepareForUpdate); built-in kinds bump on spec changes only.
 */
function generationContent(t: ResourceType, obj: JsonObject): unknown {
  if (t.builtIn) return obj["spec"];
  const { metadata: _metadata, ...content } = obj;
  return content;
}
