// RFC 7386 JSON merge patches: compute the smallest patch from one document to another, and apply one.
import { isObject, type JsonObject } from "../../model/fields.js";

/**
 * The merge patch that turns `current` into `desired`: changed members, `null` for members to
 * remove, arrays and scalars replaced whole. Returns undefined when nothing differs. Pure.
 * `null` values inside `desired` cannot be expressed by a merge patch; they are treated as removal.
 */
export function diffMergePatch(current: unknown, desired: unknown): unknown {
  if (!isObject(current) || !isObject(desired)) return deepEqual(current, desired) ? undefined : desired;
  const patch: JsonObject = {};
  for (const key of Object.keys(current)) {
    if (!(key in desired) || desired[key] === undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(desired)) {
    if (value === undefined) continue;
    if (!(key in current)) patch[key] = value;
    else {
      const sub = diffMergePatch(current[key], value);
      if (sub !== undefined) patch[key] = sub;
    }
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/** Applies an RFC 7386 merge patch; returns a new document and leaves both inputs untouched. Pure. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/** Structural equality of JSON values (object key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual(a[k], b[k]));
}
