// Test helper: checks a real HTTP response against src/http/openapi.json, so the API tests prove the document true.
import { readFileSync } from "node:fs";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";

type Json = Record<string, unknown>;
export type Headers = Record<string, string | string[] | undefined>;

/** The document as checked in; read once per test file. */
export const openApiDocument: Json = JSON.parse(readFileSync(new URL("../../src/http/openapi.json", import.meta.url), "utf8")) as Json;

/** The base id ajv knows the document by, so a schema's `#/components/...` refs resolve inside it. */
const DOC_ID = "https://credbroker.invalid/openapi.json";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
// RFC 3339 as OpenAPI means it; ajv-formats is not installed, so the one format we use is defined here.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An ajv instance with the document loaded: compile fragments with `schemaAt(pointer)`. */
export function createOpenApiAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, discriminator: true });
  ajv.addFormat("date-time", DATE_TIME);
  // The document's non-schema sections are annotations to ajv: present so pointers can reach into them.
  for (const keyword of ["openapi", "info", "tags", "paths", "components"]) ajv.addKeyword(keyword);
  const { openapi, info, tags, paths, components } = openApiDocument;
  ajv.addSchema({ $id: DOC_ID, openapi, info, tags, paths, components });
  return ajv;
}

const ajv = createOpenApiAjv();
const compiled = new Map<string, ValidateFunction>();

/** The validator of the schema at a JSON pointer into the document (e.g. `/components/schemas/Error`). Throws if it does not compile. */
export function schemaAt(pointer: string): ValidateFunction {
  let validate = compiled.get(pointer);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
    compiled.set(pointer, validate);
  }
  return validate;
}

const escape = (part: string): string => part.replace(/~/g, "~0").replace(/\//g, "~1");
const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** Follows a non-schema `$ref` (a response, a parameter) to the object it names, with its pointer. Throws when it does not resolve. */
export function deref(value: Json, pointer: string): { value: Json; pointer: string } {
  const target = value.$ref;
  if (typeof target !== "string") return { value, pointer };
  if (!target.startsWith("#/")) throw new Error(`${pointer}: $ref ${target} is not local to the document`);
  let node: unknown = openApiDocument;
  for (const part of target.slice(2).split("/")) {
    node = isObject(node) ? node[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
  }
  if (!isObject(node)) throw new Error(`${pointer}: $ref ${target} does not resolve`);
  return { value: node, pointer: target.slice(1) };
}

/** Every operation the document lists: method upper-case, path as templated (`/v1/upstreams/{namespace}/{name}`). */
export function documentedOperations(): { method: string; path: string }[] {
  const paths = openApiDocument.paths as Record<string, Json>;
  return Object.entries(paths).flatMap(([path, item]) => METHODS.filter((m) => isObject(item[m])).map((m) => ({ method: m.toUpperCase(), path })));
}

/** The documented path template a real request path (query and all) falls under; literal paths win over templated ones. */
function matchPath(realPath: string): string | undefined {
  const path = realPath.split(/[?#]/, 1)[0] ?? "";
  const segments = path.split("/");
  const templates = Object.keys(openApiDocument.paths as Json).sort((a, b) => a.split("{").length - b.split("{").length);
  return templates.find((template) => {
    const parts = template.split("/");
    return parts.length === segments.length && parts.every((part, i) => (/^\{[^}]+\}$/.test(part) ? (segments[i] ?? "") !== "" : part === segments[i]));
  });
}

function headerValue(headers: Headers, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value.join(", ") : value;
}

function describe(errors: ErrorObject[] | null | undefined, what: string): string[] {
  return (errors ?? []).map((e) => {
    const at = `${what}${e.instancePath}`;
    const params = e.params as Record<string, unknown>;
    if (e.keyword === "additionalProperties") return `${at} has a property the document does not allow: "${String(params.additionalProperty)}"`;
    if (e.keyword === "enum") return `${at} ${e.message ?? "is invalid"}: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    if (e.keyword === "discriminator") return `${at}/${String(params.tag)} is ${JSON.stringify(params.tagValue)}, which none of the documented variants has`;
    if (e.keyword === "const") return `${at} must be ${JSON.stringify(params.allowedValue)}`;
    return `${at} ${e.message ?? "is invalid"}`;
  });
}

/** A documented response; `allowed` is set for a 405 to a method the path does not list. */
interface Found {
  response: Json;
  pointer: string;
  allowed?: string[];
}

const toFound = (r: { value: Json; pointer: string }): Found => ({ response: r.value, pointer: r.pointer });

/** A 405's Allow must name every method the document lists for the path (HEAD may ride along with GET). */
function checkAllow(allowed: string[], headers: Headers): string[] {
  const value = headerValue(headers, "allow");
  if (value === undefined) return [];
  const named = value.split(",").map((m) => m.trim().toUpperCase());
  const missing = allowed.filter((m) => !named.includes(m));
  const extra = named.filter((m) => !allowed.includes(m) && !(m === "HEAD" && allowed.includes("GET")));
  return [
    ...(missing.length > 0 ? [`header Allow (${JSON.stringify(value)}) leaves out documented ${missing.join(", ")}`] : []),
    ...(extra.length > 0 ? [`header Allow (${JSON.stringify(value)}) names undocumented ${extra.join(", ")}`] : []),
  ];
}

/** Which response object of the document this (method, path, status) is, or the problem that there is none. */
function findResponse(method: string, path: string, status: number): Found | string {
  const template = matchPath(path);
  if (template === undefined) return `${path.split("?", 1)[0]}: no path in openapi.json matches`;
  const item = (openApiDocument.paths as Record<string, Json>)[template] ?? {};
  const operation = item[method.toLowerCase()];
  if (!isObject(operation)) {
    // info.description: every listed path answers other methods with 405 MethodNotAllowed and Allow.
    const allowed = METHODS.filter((m) => isObject(item[m])).map((m) => m.toUpperCase());
    if (status === 405) return { ...toFound(deref({ $ref: "#/components/responses/MethodNotAllowed" }, "")), allowed };
    return `${method.toUpperCase()} ${template} is not documented: a listed path answers another method with 405 only, got ${status}`;
  }
  const responses = (operation.responses ?? {}) as Json;
  const key = [String(status), `${String(status)[0]}XX`, "default"].find((k) => isObject(responses[k]));
  if (key === undefined) return `status ${status} is not documented for ${method.toUpperCase()} ${template} (documented: ${Object.keys(responses).join(", ")})`;
  const opPointer = `/paths/${escape(template)}/${method.toLowerCase()}/responses/${key}`;
  return toFound(deref(responses[key] as Json, opPointer));
}

function checkHeaders(response: Json, pointer: string, headers: Headers): string[] {
  const problems: string[] = [];
  for (const [name, raw] of Object.entries((response.headers ?? {}) as Json)) {
    const header = deref(raw as Json, `${pointer}/headers/${escape(name)}`);
    const value = headerValue(headers, name);
    if (value === undefined) {
      if (header.value.required === true) problems.push(`header ${name} is required but missing`);
      continue;
    }
    const schema = (header.value.schema ?? {}) as Json;
    // Header values are text; the document types some as integers (Retry-After).
    const typed = (schema.type === "integer" || schema.type === "number") && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    const validate = schemaAt(`${header.pointer}/schema`);
    if (!validate(typed)) problems.push(...describe(validate.errors, `header ${name} (${JSON.stringify(value)})`));
  }
  return problems;
}

function checkBody(response: Json, pointer: string, headers: Headers, body: unknown): string[] {
  const content = response.content;
  if (!isObject(content)) return body === undefined || body === "" ? [] : ["the response has a body but the document describes none"];
  const contentType = headerValue(headers, "content-type");
  if (contentType === undefined) return [`header Content-Type is missing (documented: ${Object.keys(content).join(", ")})`];
  const mediaType = (contentType.split(";", 1)[0] ?? "").trim().toLowerCase();
  if (!isObject(content[mediaType])) return [`Content-Type ${mediaType} is not documented (documented: ${Object.keys(content).join(", ")})`];
  let value = body;
  if (mediaType === "application/json" && typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return ["body is not JSON although Content-Type is application/json"];
    }
  }
  const validate = schemaAt(`${pointer}/content/${escape(mediaType)}/schema`);
  return validate(value) ? [] : describe(validate.errors, "body");
}

/**
 * The ways a response departs from the document; empty when it conforms. `path` is the real request
 * path (a query is ignored); a JSON `body` may be parsed or the raw text. Pure apart from compiling
 * schemas on first use; throws only when the document itself is broken.
 */
export function checkResponse(method: string, path: string, status: number, headers: Headers, body: unknown): string[] {
  const found = findResponse(method, path, status);
  if (typeof found === "string") return [found];
  return [
    ...checkHeaders(found.response, found.pointer, headers),
    ...(found.allowed === undefined ? [] : checkAllow(found.allowed, headers)),
    ...checkBody(found.response, found.pointer, headers, body),
  ];
}

/** Throws an Error naming the request and every problem when the response does not conform. */
export function expectConforms(res: { method: string; path: string; status: number; headers: Headers; body: unknown }): void {
  const problems = checkResponse(res.method, res.path, res.status, res.headers, res.body);
  if (problems.length > 0) {
    throw new Error(`${res.method.toUpperCase()} ${res.path} ${res.status} does not conform to openapi.json:\n  - ${problems.join("\n  - ")}`);
  }
}
