// Credential fingerprints: an HMAC-SHA256 under a random key per Fingerprinter (never leaving it), so cache keys never hold or reveal secrets.
import { createHmac, randomBytes } from "node:crypto";

/**
 * Fingerprints credential material. The key is random per instance (each SharedProvider and
 * provider holds its own; fingerprints are compared only within one) and never leaves it, so a fingerprint cannot be checked against a guessed
 * secret by anyone reading logs or metrics.
 */
export class Fingerprinter {
  private readonly key: Buffer = randomBytes(32);

  /** Hex HMAC of the parts, length-prefixed so `["ab","c"]` and `["a","bc"]` differ. Pure apart from the key. */
  of(parts: readonly string[]): string {
    const hmac = createHmac("sha256", this.key);
    for (const p of parts) {
      const bytes = Buffer.from(p, "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32BE(bytes.length);
      hmac.update(len).update(bytes);
    }
    return hmac.digest("hex");
  }
}
