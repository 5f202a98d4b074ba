// A small structural-schema engine: prunes unknown fields and reports type errors the way the API server does for CRDs.
import { isObject, type JsonObject } from "../../model/fields.js";
import type { StatusCause } from "./status.js";

interface Common {
  nullable?: boolean;
}

export type SchemaNode =
  | (Common & { type: "object"; properties?: Record<string, SchemaNode>; preserveUnknownFields?: boolean })
  | (Common & { type: "array"; items: SchemaNode })
  | (Common & { type: "string"; intOrString?: boolean })
  | (Common & { type: "integer"; minimum?: number; maximum?: number })
  | (Common & { type: "boolean" });

export interface SchemaResult {
  value: unknown;
  /** Paths of fields removed because the schema does not know them (for `fieldValidation` warnings). */
  pruned: string[];
  causes: StatusCause[];
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeError(path: string, expected: string, value: unknown): StatusCause {
  const actual = typeName(value);
  return {
    reason: "FieldValueTypeInvalid",
    message: `Invalid value: "${actual}": ${path} in body must be of type ${expected}: "${actual}"`,
    field: path,
  };
}

function walk(value: unknown, node: SchemaNode, path: string, out: SchemaResult): unknown {
  switch (node.type) {
    case "object": {
      if (!isObject(value)) {
        out.causes.push(typeError(path, "object", value));
        return value;
      }
      const result: JsonObject = {};
      for (const [key, child] of Object.entries(value)) {
        const childPath = path === "" ? key : `${path}.${key}`;
        const childNode = node.properties?.[key];
        if (childNode === undefined) {
          if (node.preserveUnknownFields === true) result[key] = child;
          else out.pruned.push(childPath);
          continue;
        }
        if (child === null && childNode.nullable !== true) continue;
        result[key] = child === null ? null : walk(child, childNode, childPath, out);
      }
      return result;
    }
    case "array":
      if (!Array.isArray(value)) {
        out.causes.push(typeError(path, "array", value));
        return value;
      }
      return value.map((item, i) => walk(item, node.items, `${path}[${i}]`, out));
    case "string":
      if (typeof value === "string") return value;
      if (node.intOrString === true && typeof value === "number" && Number.isInteger(value)) return value;
      out.causes.push(typeError(path, "string", value));
      return value;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        out.causes.push(typeError(path, "integer", value));
        return value;
      }
      if (node.minimum !== undefined && value < node.minimum)
        out.causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${value}: ${path} in body should be greater than or equal to ${node.minimum}`, field: path });
      if (node.maximum !== undefined && value > node.maximum)
        out.causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${value}: ${path} in body should be less than or equal to ${node.maximum}`, field: path });
      return value;
    case "boolean":
      if (typeof value !== "boolean") out.causes.push(typeError(path, "boolean", value));
      return value;
  }
}

/** Prunes and validates `value` against `node`; pure, never throws, `path` is the field path printed in causes. */
export function applySchema(value: unknown, node: SchemaNode, path: string): SchemaResult {
  const out: SchemaResult = { value: undefined, pruned: [], causes: [] };
  out.value = walk(value, node, path, out);
  return out;
}

/** Every field path a schema names, with its type (`spec.aws.lambdaFunctions[].qualifier` → string). */
export function schemaPaths(node: SchemaNode, path: string): Array<{ path: string; type: SchemaNode["type"] }> {
  const paths = [{ path, type: node.type }];
  if (node.type === "object") for (const [key, child] of Object.entries(node.properties ?? {})) paths.push(...schemaPaths(child, path === "" ? key : `${path}.${key}`));
  if (node.type === "array") paths.push(...schemaPaths(node.items, `${path}[]`));
  return paths;
}
