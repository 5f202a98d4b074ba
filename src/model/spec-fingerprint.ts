// A short, stable digest of an upstream's spec: what a status verdict is about, since a real API server bumps `metadata.generation` on credbroker's own status writes.
import { createHash } from "node:crypto";
import { isObject } from "./fields.js";
import { canonicalJson } from "./text.js";

/**
 * `sha256:<16 hex>` of the canonical JSON of `object.spec` (an absent spec digests as `{}`). Pure
 * and deterministic: equal specs, whatever their key order, give equal digests. A spec holds no
 * secret material (secrets are referenced, never inlined), so the digest may be published.
 */
export function specFingerprint(object: unknown): string {
  return canonicalDigest(isObject(object) && isObject(object.spec) ? object.spec : {});
}

/** `sha256:<16 hex>` of the canonical JSON of `value`: equal values, whatever their key order, give equal digests. Pure. */
export function canonicalDigest(value: unknown): string {
  return `sha256:${createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 16)}`;
}
