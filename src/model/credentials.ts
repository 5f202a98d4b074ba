// Typed credential material resolved from a secret; values are hidden from JSON and util.inspect.

export interface AwsCredentials {
  kind: "awsKeys";
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AzureFunctionKeys {
  kind: "azureFunctionKeys";
  /** function name → key, plus `_master` for the host master key. */
  apiKeys: Record<string, string>;
}

export interface AzureServicePrincipal {
  kind: "azureServicePrincipal";
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** PEM with the certificate and its private key. */
  clientCertificate?: string;
  subscriptionId: string;
  resourceGroup?: string;
}

export type SecretMaterial = AwsCredentials | AzureFunctionKeys | AzureServicePrincipal;
export type SecretMaterialKind = SecretMaterial["kind"];

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * Returns the same object with `toJSON` and `util.inspect` replaced by a redacted summary, so
 * an accidental `JSON.stringify`, `console.log` or logger call shows the kind but no value.
 * The properties stay readable for the code that must hand them to an SDK.
 */
export function sealed<T extends SecretMaterial>(material: T): T {
  const summary = { kind: material.kind, redacted: true };
  Object.defineProperty(material, "toJSON", { value: () => summary, enumerable: false });
  Object.defineProperty(material, INSPECT, { value: () => `[${material.kind} redacted]`, enumerable: false });
  return material;
}

/** Every secret value inside a material, for registering with the log redactor. */
export function secretValuesOf(material: SecretMaterial): string[] {
  switch (material.kind) {
    case "awsKeys":
      return [material.secretAccessKey, material.sessionToken ?? ""].filter((v) => v !== "");
    case "azureFunctionKeys":
      return Object.values(material.apiKeys).filter((v) => v !== "");
    case "azureServicePrincipal":
      return [material.clientSecret ?? "", material.clientCertificate ?? ""].filter((v) => v !== "");
  }
}
