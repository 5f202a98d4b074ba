// Readers of `metadata` on an untyped Kubernetes object (a watch event, a GET or PATCH answer); pure, never throw.
import { isObject, type JsonObject } from "./fields.js";

/**
 * `obj.metadata`, or a new empty object when it is absent or not an object, so readers can chain.
 * The result is the object's own metadata when it has one: writes to it change `obj`.
 */
export function metaOf(obj: JsonObject): JsonObject {
  const meta = obj["metadata"];
  return isObject(meta) ? meta : {};
}

/** `{namespace, name}`, each "" when absent or not a string (cluster-scoped objects have no namespace). */
export function nameOf(obj: JsonObject): { namespace: string; name: string } {
  const meta = metaOf(obj);
  return { namespace: stringOr(meta["namespace"], ""), name: stringOr(meta["name"], "") };
}

/**
 * "namespace/name", or "name" alone for an object without a namespace: the key client-go's
 * MetaNamespaceKeyFunc makes, so cluster-scoped objects (Namespaces) get no leading slash.
 */
export function objectKey(obj: JsonObject): string {
  const { namespace, name } = nameOf(obj);
  return namespace === "" ? name : `${namespace}/${name}`;
}

/**
 * `metadata.resourceVersion`, or undefined when absent, not a string or empty: the API server never
 * sends an empty one, and as a write precondition "" would mean "unconditional", which no caller wants.
 * Compare resourceVersions for equality only; the API does not promise they order.
 */
export function resourceVersionOf(obj: JsonObject): string | undefined {
  const rv = metaOf(obj)["resourceVersion"];
  return typeof rv === "string" && rv !== "" ? rv : undefined;
}

/** `metadata.generation`, or 0 when absent or not a finite number (objects the server never bumped). */
export function generationOf(obj: JsonObject): number {
  const generation = metaOf(obj)["generation"];
  return typeof generation === "number" && Number.isFinite(generation) ? generation : 0;
}

/** A copy of `metadata.annotations` with only its string values (others are dropped); {} when absent. */
export function annotationsOf(obj: JsonObject): Record<string, string> {
  return stringEntries(metaOf(obj)["annotations"]);
}

/** A copy of `metadata.labels` with only its string values (others are dropped); {} when absent. */
export function labelsOf(obj: JsonObject): Record<string, string> {
  return stringEntries(metaOf(obj)["labels"]);
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

function stringEntries(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const [key, v] of Object.entries(value)) if (typeof v === "string") out[key] = v;
  return out;
}
