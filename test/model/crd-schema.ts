// Test helper: a validator built from Gloo's real Upstream CRD, with the API server's structural rules made checkable by ajv.
import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import { parse } from "yaml";

/** Gloo's CRD sits beside the repository in the shared folder; it is read, never copied in. */
export const CRD_URL = new URL("../../../shared/gloo/upstream-crd.yaml", import.meta.url);

type Schema = Record<string, unknown>;

function isSchema(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function loadUpstreamSchema(): Schema {
  const crd = parse(readFileSync(CRD_URL, "utf8")) as { spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } };
  const v1 = crd.spec.versions.find((v) => v.name === "v1");
  if (v1 === undefined) throw new Error("the CRD has no v1 version");
  return v1.schema.openAPIV3Schema;
}

/**
 * Rewrites the schema the way the API server reads it:
 * - `x-kubernetes-int-or-string` accepts an integer as well as the declared string;
 * - with `pruning`, an object with `properties` and without `x-kubernetes-preserve-unknown-fields`
 *   rejects unknown keys, so "the API server would prune this field" becomes a validation error
 *   instead of a silent loss (apiVersion, kind and metadata are implicit at the root).
 */
function structural(node: unknown, pruning: boolean, root: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => structural(n, pruning, false));
  if (!isSchema(node)) return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === "properties" && isSchema(v)
      ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, structural(s, pruning, false)]))
      : structural(v, pruning, false);
  }
  if (out["x-kubernetes-int-or-string"] === true) {
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  if (root && isSchema(out.properties)) {
    out.properties = { ...out.properties, apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" } };
  }
  if (pruning && isSchema(out.properties) && out["x-kubernetes-preserve-unknown-fields"] !== true && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

/** A validator for whole Upstream objects. With `pruning` (default) unknown fields fail too. */
export function upstreamValidator(options: { pruning?: boolean } = {}): ValidateFunction {
  const ajv = new Ajv({ strict: true, allErrors: true, strictTypes: false });
  for (const keyword of ["x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-embedded-resource", "x-kubernetes-list-type", "x-kubernetes-map-type"]) {
    ajv.addKeyword(keyword);
  }
  // OpenAPI formats the CRD uses; the API server does not enforce them on these fields either.
  for (const format of ["byte", "int32", "int64", "float", "double", "date-time"]) ajv.addFormat(format, true);
  return ajv.compile(structural(loadUpstreamSchema(), options.pruning ?? true, true) as Schema);
}

