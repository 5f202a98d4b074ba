// Per-kind write rules: name syntax, Secret data and stringData, Lease MicroTimes, the Upstream schema, and fields the server owns.
import { isObject, type JsonObject } from "../../model/fields.js";
import { applySchema, type SchemaNode } from "./schema.js";
import type { ResourceType } from "./resources.js";
import { badRequest, invalid, type StatusCause } from "./status.js";

export interface Normalized {
  object: JsonObject;
  /** Unknown fields the schema dropped, reported as warnings or refused under `fieldValidation=Strict`. */
  pruned: string[];
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 3339 with exactly six fractional digits, as metav1.MicroTime decodes it. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function nameCause(t: ResourceType, name: string): StatusCause | undefined {
  if (t.group === "rbac.authorization.k8s.io") {
    // RBAC names are path segments: colons are fine (system:auth-delegator), slashes are not.
    if (name === "." || name === ".." || /[/%]/.test(name)) return { reason: "FieldValueInvalid", message: `Invalid value: "${name}": may not contain '/' or '%'`, field: "metadata.name" };
    return undefined;
  }
  if (t.plural === "namespaces") {
    if (name.length > 63 || !LABEL.test(name))
      return {
        reason: "FieldValueInvalid",
        message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
        field: "metadata.name",
      };
    return undefined;
  }
  if (name.length > 253 || !SUBDOMAIN.test(name))
    return {
      reason: "FieldValueInvalid",
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      field: "metadata.name",
    };
  return undefined;
}

function checkStringMap(meta: JsonObject, field: "labels" | "annotations"): void {
  const map = meta[field];
  if (map === undefined || map === null) return;
  if (!isObject(map)) throw badRequest(`metadata.${field}: must be a map of strings`);
  for (const [k, v] of Object.entries(map)) if (typeof v !== "string") throw badRequest(`metadata.${field}.${k}: must be a string`);
}

function normalizeSecret(obj: JsonObject): StatusCause[] {
  const causes: StatusCause[] = [];
  obj["type"] ??= "Opaque";
  const data: JsonObject = isObject(obj["data"]) ? { ...obj["data"] } : {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== "string" || !BASE64.test(v) || v.length % 4 !== 0) throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data.${k}`);
  }
  const stringData = obj["stringData"];
  if (isObject(stringData)) {
    for (const [k, v] of Object.entries(stringData)) {
      if (typeof v !== "string") throw badRequest(`Secret in version "v1" cannot be handled as a Secret: stringData.${k} must be a string`);
      data[k] = Buffer.from(v, "utf8").toString("base64");
    }
  }
  delete obj["stringData"];
  if (Object.keys(data).length > 0 || obj["data"] !== undefined) obj["data"] = data;
  for (const k of Object.keys(data))
    if (!/^[-._a-zA-Z0-9]+$/.test(k)) causes.push({ reason: "FieldValueInvalid", message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`, field: `data[${k}]` });
  return causes;
}

function checkMicroTimes(obj: JsonObject): void {
  const spec = obj["spec"];
  if (!isObject(spec)) return;
  for (const field of ["acquireTime", "renewTime"]) {
    const v = spec[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" || !MICRO_TIME.test(v))
      throw badRequest(`Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse spec.${field}`);
  }
}

function checkBinding(obj: JsonObject): StatusCause[] {
  const ref = obj["roleRef"];
  if (!isObject(ref) || typeof ref["name"] !== "string" || (ref["kind"] !== "Role" && ref["kind"] !== "ClusterRole"))
    return [{ reason: "FieldValueRequired", message: "Required value: roleRef must name a Role or ClusterRole", field: "roleRef" }];
  return [];
}

/**
 * Applies the rules of `t` to a copy of a client's object (metadata already merged by the caller);
 * throws 400 for undecodable values and 422 Invalid with causes for rule violations. Pure.
 */
export function normalize(t: ResourceType, input: JsonObject, upstreamSchema: SchemaNode): Normalized {
  const obj: JsonObject = { ...input };
  const meta = isObject(obj["metadata"]) ? { ...obj["metadata"] } : {};
  obj["metadata"] = meta;
  const name = typeof meta["name"] === "string" ? meta["name"] : "";
  checkStringMap(meta, "labels");
  checkStringMap(meta, "annotations");
  const causes: StatusCause[] = [];
  const nameProblem = nameCause(t, name);
  if (nameProblem) causes.push(nameProblem);
  let pruned: string[] = [];
  switch (t.kind) {
    case "Secret":
      causes.push(...normalizeSecret(obj));
      break;
    case "Lease":
      checkMicroTimes(obj);
      break;
    case "RoleBinding":
    case "ClusterRoleBinding":
      causes.push(...checkBinding(obj));
      break;
    case "Namespace":
      obj["spec"] = { finalizers: ["kubernetes"] };
      obj["status"] = { phase: "Active" };
      break;
    case "Upstream": {
      const body: JsonObject = {};
      if (obj["spec"] !== undefined) body["spec"] = obj["spec"];
      if (obj["status"] !== undefined) body["status"] = obj["status"];
      const result = applySchema(body, upstreamSchema, "");
      causes.push(...result.causes);
      pruned = result.pruned;
      for (const key of Object.keys(obj)) if (!["apiVersion", "kind", "metadata"].includes(key)) delete obj[key];
      if (isObject(result.value)) Object.assign(obj, result.value);
      break;
    }
    default:
      break;
  }
  if (causes.length > 0) throw invalid(t.kind, t.group, name, causes);
  return { object: obj, pruned };
}
