// Equal JSON values held once: the function lists of upstreams that share an account-region and a filter are one list in memory, not one per upstream.
import { createHash } from "node:crypto";

/**
 * Hands back one frozen copy of each distinct JSON value it is given while anything still holds
 * that copy. For JSON values only (what JSON.parse gives: no undefined, NaN, -0 or Date, which
 * JSON text would confuse with others). Values are told apart by the SHA-256 of their JSON text,
 * so equal values written with their keys in another order are simply not shared. An entry goes when its
 * value is collected (weak references), so the table never outlives what uses it and never needs
 * a bound. The shared copy is a deep copy of the first value given, frozen: a write to it throws
 * (ES modules are strict) instead of changing every upstream that holds it, and the value given is
 * never changed. Not for values with secrets in them: nothing here is scrubbed.
 */
export class ValueInterner<T extends object> {
  private readonly byDigest = new Map<string, WeakRef<T>>();
  private readonly collected = new FinalizationRegistry<string>((digest) => {
    // A newer value may have taken the digest since this one was registered.
    if (this.byDigest.get(digest)?.deref() === undefined) this.byDigest.delete(digest);
  });
  private hits = 0;

  /** The shared copy equal to `value`: an earlier one still alive, else a frozen copy of `value`. */
  intern(value: T): T {
    const digest = createHash("sha256").update(JSON.stringify(value)).digest("base64");
    const shared = this.byDigest.get(digest)?.deref();
    if (shared !== undefined) {
      this.hits += 1;
      return shared;
    }
    const copy = structuredClone(value);
    deepFreeze(copy);
    this.byDigest.set(digest, new WeakRef(copy));
    this.collected.register(copy, digest);
    return copy;
  }

  /** Distinct values held (collected ones are counted until their finalizer has run). */
  get size(): number {
    return this.byDigest.size;
  }

  /** How many intern calls found a shared copy. */
  get reused(): number {
    return this.hits;
  }
}

/** Freezes `value` and everything it holds, in place. */
export function deepFreeze(value: object): void {
  Object.freeze(value);
  for (const child of Object.values(value) as unknown[]) if (typeof child === "object" && child !== null) deepFreeze(child);
}
