// Random identifiers shaped like AWS's own: access keys, secrets, session tokens, unique ids, request ids.
import { randomBytes, randomUUID } from "node:crypto";

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function randomFrom(alphabet: string, length: number): string {
  // Rejection sampling would be exact; the tiny modulo bias is irrelevant for sandbox identifiers.
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** A long-term access key id: `AKIA` + 16 uppercase alphanumerics, like IAM user keys. */
export function newAccessKeyId(): string {
  return `AKIA${randomFrom(UPPER_ALNUM, 16)}`;
}

/** A temporary access key id: `ASIA` + 16, the prefix STS uses for session credentials. */
export function newTemporaryAccessKeyId(): string {
  return `ASIA${randomFrom(UPPER_ALNUM, 16)}`;
}

/** A 40-character secret access key. */
export function newSecretAccessKey(): string {
  return randomFrom(SECRET_ALPHABET, 40);
}

/** An opaque session token; real ones are long base64 blobs, so clients must not assume a length. */
export function newSessionToken(): string {
  return `IQoJb3JpZ2luX2Vj${randomBytes(180).toString("base64")}`;
}

/** A unique principal id with the IAM prefix of its kind (`AIDA` users, `AROA` roles). */
export function newUniqueId(prefix: "AIDA" | "AROA"): string {
  return `${prefix}${randomFrom(UPPER_ALNUM, 17)}`;
}

export function newRequestId(): string {
  return randomUUID();
}
