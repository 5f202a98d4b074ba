// Pure patch algorithms beside model/merge-patch.ts (the one RFC 7386 merge patch): strategic-patch directives and JSON patch (RFC 6902).
import { isObject, type JsonObject } from "../../model/fields.js";

/**
 * Drops strategic-merge-patch directives (`$patch`, `$setElementOrder/...`, `$retainKeys`, `$deleteFromPrimitiveList/...`)
 * so a strategic patch of a kind without merge keys behaves as a merge patch, which is what it means for those kinds.
 */
export function stripStrategicDirectives(patch: unknown): unknown {
  if (Array.isArray(patch)) return patch.map(stripStrategicDirectives);
  if (!isObject(patch)) return patch;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue;
    out[key] = stripStrategicDirectives(value);
  }
  return out;
}

/** A JSON patch that cannot be applied: a bad op, a missing path, or a failed `test`. */
export class JsonPatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JsonPatchError";
  }
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new JsonPatchError(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split("/")
    .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
}

type Container = JsonObject | unknown[];

function child(container: unknown, token: string, pointer: string): unknown {
  if (Array.isArray(container)) {
    const index = Number(token);
    if (!/^\d+$/.test(token) || index >= container.length) throw new JsonPatchError(`path "${pointer}" does not exist`);
    return container[index];
  }
  if (isObject(container) && Object.hasOwn(container, token)) return container[token];
  throw new JsonPatchError(`path "${pointer}" does not exist`);
}

function parentOf(doc: unknown, tokens: string[], pointer: string): { parent: Container; last: string } {
  let current = doc;
  for (const token of tokens.slice(0, -1)) current = child(current, token, pointer);
  if (!Array.isArray(current) && !isObject(current)) throw new JsonPatchError(`path "${pointer}" does not exist`);
  return { parent: current, last: tokens[tokens.length - 1] ?? "" };
}

function getAt(doc: unknown, pointer: string): unknown {
  let current = doc;
  for (const token of parsePointer(pointer)) current = child(current, token, pointer);
  return current;
}

function arrayIndex(arr: unknown[], token: string, pointer: string, forInsert: boolean): number {
  if (forInsert && token === "-") return arr.length;
  const max = forInsert ? arr.length : arr.length - 1;
  const index = Number(token);
  if (!/^\d+$/.test(token) || index > max) throw new JsonPatchError(`path "${pointer}": index out of range`);
  return index;
}

function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, pointer, true), 0, value);
  else parent[last] = value;
  return doc;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new JsonPatchError("cannot remove the whole document");
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, pointer, false), 1);
  else {
    if (!Object.hasOwn(parent, last)) throw new JsonPatchError(`path "${pointer}" does not exist`);
    delete parent[last];
  }
  return doc;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

export { deepEqual };

/** Applies an RFC 6902 patch to a copy of `doc`; throws JsonPatchError on any failure (atomic: nothing is half-applied). */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new JsonPatchError("a JSON patch must be an array of operations");
  let result: unknown = structuredClone(doc);
  for (const raw of ops) {
    if (!isObject(raw)) throw new JsonPatchError("each JSON patch operation must be an object");
    const op = raw["op"];
    const path = raw["path"];
    if (typeof path !== "string") throw new JsonPatchError(`operation "${String(op)}" needs a string "path"`);
    const from = typeof raw["from"] === "string" ? raw["from"] : undefined;
    switch (op) {
      case "add":
        result = addAt(result, path, structuredClone(raw["value"]));
        break;
      case "remove":
        result = removeAt(result, path);
        break;
      case "replace":
        getAt(result, path);
        result = addAt(removeAt(result, path), path, structuredClone(raw["value"]));
        break;
      case "move": {
        if (from === undefined) throw new JsonPatchError('"move" needs "from"');
        const value = getAt(result, from);
        result = addAt(removeAt(result, from), path, value);
        break;
      }
      case "copy": {
        if (from === undefined) throw new JsonPatchError('"copy" needs "from"');
        result = addAt(result, path, structuredClone(getAt(result, from)));
        break;
      }
      case "test":
        if (!deepEqual(getAt(result, path), raw["value"])) throw new JsonPatchError(`testing value ${path} failed`);
        break;
      default:
        throw new JsonPatchError(`unknown JSON patch operation "${String(op)}"`);
    }
  }
  return result;
}
