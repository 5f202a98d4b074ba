// Trusted CAs for cloud endpoints: Node's public roots plus the PEM files of `tls.extraCaFiles` (never a disabled check).
import { readFile } from "node:fs/promises";
import { rootCertificates } from "node:tls";

/**
 * Reads every extra CA file and returns the bundle to trust: the public roots followed by the
 * extras. I/O. Throws an Error naming the file (not its content) when one is unreadable or
 * holds no PEM certificate.
 */
export async function loadTrustedCas(extraCaFiles: readonly string[]): Promise<string[]> {
  const extras: string[] = [];
  for (const file of extraCaFiles) {
    let pem: string;
    try {
      pem = await readFile(file, "utf8");
    } catch (err) {
      throw new Error(`tls.extraCaFiles: cannot read ${file}`, { cause: err });
    }
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`tls.extraCaFiles: ${file} holds no PEM certificate`);
    extras.push(pem);
  }
  return [...rootCertificates, ...extras];
}
