// Small readers for untrusted JSON-like input that fail with the field path and the expected form.
import { ValidationError } from "./errors.js";
import type { Reason } from "./reasons.js";

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

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
      if (typeof v !== "string") this.fail(`${field}.${k}`, "must be a string");
      out[k] = v;
    }
    return out;
  }
}
