// The onChange plumbing every secret source shares: subscribe, unsubscribe, and notify without letting a listener break the source.
import type { Logger } from "pino";
import type { SecretRef } from "../model/upstream.js";

/** A set of rotation listeners. `notify` never throws: a failing listener is logged and the others still run. */
export class ChangeListeners {
  private readonly listeners = new Set<(ref: SecretRef) => void>();

  constructor(private readonly logger: Logger) {}

  /** Adds a listener; the returned function removes it (idempotent). */
  add(listener: (ref: SecretRef) => void): () => void {
    // Wrapped so the same function subscribed twice gets two independent subscriptions.
    const entry = (ref: SecretRef): void => listener(ref);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  notify(ref: SecretRef): void {
    for (const listener of [...this.listeners]) {
      try {
        listener({ namespace: ref.namespace, name: ref.name });
      } catch (err) {
        this.logger.error({ err, namespace: ref.namespace, name: ref.name }, "secret change listener failed");
      }
    }
  }
}

/** `namespace/name`, the cache and index key of a reference. */
export function refKey(ref: SecretRef): string {
  return `${ref.namespace}/${ref.name}`;
}
