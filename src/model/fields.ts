// Small readers for untrusted JSON-like input that fail with the field path and the expected form.
import { ValidationError } from "./errors.js";
import type { Reason } from "./reasons.js";
import { echoName } from "./text.js";

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The value of `obj`'s own property `key`, or undefined. Unlike `obj[key]` or `key in obj`, never
 * answers from the prototype: `__proto__`, `constructor` and `toString` are just keys. Pure.
 */
export function ownValue(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/**
 * Sets `obj[key] = value` as an own data property, as JSON.parse does. A plain assignment to
 * `__proto__` would replace the prototype (or, for a string, be silently dropped). Mutates `obj`.
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A DNS-1123 label, as Kubernetes requires of a namespace: at most 63 lowercase letters, digits and '-'. Pure. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value);
}

/** A DNS-1123 subdomain, as Kubernetes requires of a Secret's name: labels joined by '.', at most 253 characters. Pure. */
export function isDnsSubdomain(value: string): boolean {
  // Split before matching so no pattern runs over more than one label.
  return value.length <= 253 && value.split(".").every((label) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(label));
}

export const DNS_LABEL_RULE = "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
export const DNS_SUBDOMAIN_RULE = "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters";

/** A reader bound to one reason, so every failure of one input kind carries the same reason. */
export class FieldReader {
  constructor(readonly reason: Reason) {}

  fail(field: string, problem: string): never {
    throw new ValidationError(this.reason, field, problem);
  }

  object(value: unknown, field: string): JsonObject {
    if (!isObject(value)) this.fail(field, "must be an object");
    return value;
  }

  optionalObject(value: unknown, field: string): JsonObject | undefined {
    return value === undefined || value === null ? undefined : this.object(value, field);
  }

  string(value: unknown, field: string): string {
    if (typeof value !== "string" || value.trim() === "") this.fail(field, "must be a non-empty string");
    return value;
  }

  optionalString(value: unknown, field: string): string | undefined {
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") this.fail(field, "must be a string");
    return value;
  }

  optionalBoolean(value: unknown, field: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") this.fail(field, "must be a boolean");
    return value;
  }

  optionalInteger(value: unknown, field: string, min: number, max: number): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  optionalArray(value: unknown, field: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(field, "must be a list");
    return value as unknown[];
  }

  stringMap(value: unknown, field: string): Record<string, string> {
    const obj = this.optionalObject(value, field) ?? {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v !== "string") this.fail(`${field}.${echoName(k)}`, "must be a string");
      setOwn(out, k, v);
    }
    return out;
  }
}
