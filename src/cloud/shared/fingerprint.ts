// Credential fingerprints: an HMAC-SHA256 under a random key per Fingerprinter (never leaving it), so cache keys never hold or reveal secrets.
import { createHmac, createSecretKey, randomBytes, type KeyObject } from "node:crypto";

/**
 * Fingerprints credential material. The key is random per instance (each SharedProvider and
 * provider holds its own; fingerprints are compared only within one) and never leaves it, so a fingerprint cannot be checked against a guessed
 * secret by anyone reading logs or metrics.
 */
export class Fingerprinter {
  // A KeyObject, not the bytes: createHmac re-imports a Buffer key on every call, which was most
  // of the cost of a fingerprint (measured 12.5 µs against 1.7 µs per call).
  private readonly key: KeyObject = createSecretKey(randomBytes(32));

  /** Hex HMAC of the parts, each prefixed with its length so `["ab","c"]` and `["a","bc"]` differ. Pure apart from the key. */
  of(parts: readonly string[]): string {
    let text = "";
    for (const p of parts) text += `${p.length}:${p}`;
    return createHmac("sha256", this.key).update(text, "utf8").digest("hex");
  }
}
