// The emulated Entra ID directory: tenants and their service principals with secrets and certificates.
import { createPublicKey, randomUUID, type KeyObject } from "node:crypto";
import { certificateThumbprints, firstCertificatePem } from "../common/certificates.js";

export interface PrincipalSpec {
  clientId: string;
  clientSecret?: string;
  /** Public certificate PEM whose key may sign client assertions (a private key in the PEM is ignored). */
  certificatePem?: string;
  /** Object id of the service principal; generated when absent. */
  objectId?: string;
}

export interface RegisteredCertificate {
  publicKey: KeyObject;
  /** base64url SHA-1 thumbprint, compared with an assertion's `x5t`. */
  x5t: string;
  /** base64url SHA-256 thumbprint, compared with an assertion's `x5t#S256`. */
  x5tS256: string;
  /** Upper-case hex SHA-1 thumbprint, the form Entra ID puts in its error messages. */
  thumbprintHex: string;
}

export interface Principal {
  tenantId: string;
  clientId: string;
  objectId: string;
  secrets: Set<string>;
  certificates: RegisteredCertificate[];
}

/** Tenants and principals by id; ids compare case-insensitively, as GUIDs do in Entra ID. */
export class Directory {
  private readonly tenants = new Map<string, Map<string, Principal>>();

  addTenant(tenantId: string): void {
    if (!this.tenants.has(tenantId.toLowerCase())) this.tenants.set(tenantId.toLowerCase(), new Map());
  }

  hasTenant(tenantId: string): boolean {
    return this.tenants.has(tenantId.toLowerCase());
  }

  /**
   * Registers a principal, creating the tenant if needed; adding the same clientId again adds the
   * new secret or certificate to it (an app may hold several). Throws on an unparsable certificate.
   */
  addPrincipal(tenantId: string, spec: PrincipalSpec): Principal {
    this.addTenant(tenantId);
    const principals = this.tenants.get(tenantId.toLowerCase()) ?? new Map<string, Principal>();
    const key = spec.clientId.toLowerCase();
    const principal: Principal = principals.get(key) ?? {
      tenantId,
      clientId: spec.clientId,
      objectId: spec.objectId ?? randomUUID(),
      secrets: new Set(),
      certificates: [],
    };
    if (spec.clientSecret !== undefined) principal.secrets.add(spec.clientSecret);
    if (spec.certificatePem !== undefined) principal.certificates.push(registerCertificate(spec.certificatePem));
    principals.set(key, principal);
    return principal;
  }

  getPrincipal(tenantId: string, clientId: string): Principal | undefined {
    return this.tenants.get(tenantId.toLowerCase())?.get(clientId.toLowerCase());
  }

  /** Finds a principal by client id in any tenant (ARM sees only the token's appid). */
  findByClientId(clientId: string): Principal | undefined {
    for (const principals of this.tenants.values()) {
      const found = principals.get(clientId.toLowerCase());
      if (found) return found;
    }
    return undefined;
  }

  /** Removes one secret, or every secret and certificate when `clientSecret` is omitted. Idempotent. */
  revokeSecret(tenantId: string, clientId: string, clientSecret?: string): void {
    const principal = this.getPrincipal(tenantId, clientId);
    if (!principal) return;
    if (clientSecret === undefined) {
      principal.secrets.clear();
      principal.certificates.length = 0;
    } else principal.secrets.delete(clientSecret);
  }
}

function registerCertificate(pem: string): RegisteredCertificate {
  const certPem = firstCertificatePem(pem);
  const { sha1, sha256 } = certificateThumbprints(certPem);
  return {
    publicKey: createPublicKey(certPem),
    x5t: sha1.toString("base64url"),
    x5tS256: sha256.toString("base64url"),
    thumbprintHex: sha1.toString("hex").toUpperCase(),
  };
}
