// Label and field selectors as the API server parses them (=, ==, !=, in, notin, exists, !key).
import { isObject, type JsonObject } from "../../model/fields.js";
import { badRequest } from "./status.js";

type LabelRequirement =
  | { op: "eq" | "ne"; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "exists" | "notexists"; key: string };

export type Matcher = (obj: JsonObject) => boolean;

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits on commas outside parentheses: `a in (x,y),b` is two requirements. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!VALUE.test(value) || value.length > 63) throw badRequest(`unable to parse requirement: invalid label value: "${value}" in selector "${selector}"`);
  return value;
}

function parseLabelRequirement(part: string, selector: string): LabelRequirement {
  const setMatch = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (setMatch) {
    const [, key = "", op = "in", list = ""] = setMatch;
    const values = list.split(",").map((v) => checkValue(v.trim(), selector));
    return { op: op === "in" ? "in" : "notin", key: checkKey(key, selector), values };
  }
  const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
  if (cmp) {
    const [, key = "", op = "=", value = ""] = cmp;
    return { op: op === "!=" ? "ne" : "eq", key: checkKey(key, selector), value: checkValue(value.trim(), selector) };
  }
  if (part.startsWith("!")) return { op: "notexists", key: checkKey(part.slice(1).trim(), selector) };
  return { op: "exists", key: checkKey(part, selector) };
}

function labelsOf(obj: JsonObject): Record<string, unknown> {
  const meta = obj["metadata"];
  if (!isObject(meta)) return {};
  const labels = meta["labels"];
  return isObject(labels) ? labels : {};
}

function matchesRequirement(req: LabelRequirement, labels: Record<string, unknown>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = has ? String(labels[req.key]) : undefined;
  switch (req.op) {
    case "eq":
      return value === req.value;
    case "ne":
      return value !== req.value;
    case "in":
      return value !== undefined && req.values.includes(value);
    case "notin":
      return value === undefined || !req.values.includes(value);
    case "exists":
      return has;
    case "notexists":
      return !has;
  }
}

/** Parses `labelSelector`; throws a 400 KubeStatusError on bad syntax. An empty selector matches everything. */
export function parseLabelSelector(selector: string | null): Matcher | undefined {
  if (selector === null || selector.trim() === "") return undefined;
  const reqs = splitTopLevel(selector).map((p) => parseLabelRequirement(p, selector));
  return (obj) => {
    const labels = labelsOf(obj);
    return reqs.every((r) => matchesRequirement(r, labels));
  };
}

function fieldValue(obj: JsonObject, path: string): string {
  let current: unknown = obj;
  for (const part of path.split(".")) {
    if (!isObject(current)) return "";
    current = current[part];
  }
  if (current === undefined || current === null) return "";
  return typeof current === "string" ? current : JSON.stringify(current);
}

/**
 * Parses `fieldSelector` against the labels a type supports (metadata.name and metadata.namespace
 * always); an unsupported label is a 400, as on the real server.
 */
export function parseFieldSelector(selector: string | null, supported: readonly string[]): Matcher | undefined {
  if (selector === null || selector.trim() === "") return undefined;
  const allowed = new Set(["metadata.name", "metadata.namespace", ...supported]);
  const reqs = splitTopLevel(selector).map((part) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const [, field = "", op = "=", value = ""] = m;
    const key = field.trim();
    if (!allowed.has(key)) throw badRequest(`field label not supported: ${key}`);
    return { key, negate: op === "!=", value: value.trim() };
  });
  return (obj) => reqs.every((r) => (fieldValue(obj, r.key) === r.value) !== r.negate);
}

export function both(a: Matcher | undefined, b: Matcher | undefined): Matcher | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return (obj) => a(obj) && b(obj);
}
