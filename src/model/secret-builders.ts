// Builds typed SecretMaterial from the key layouts Gloo and credbroker use, independent of where the keys came from.
import {
  sealed,
  type AwsCredentials,
  type AzureFunctionKeys,
  type AzureServicePrincipal,
  type SecretMaterialKind,
} from "./credentials.js";
import { isObject, ownValue, setOwn } from "./fields.js";
import { credentialValue, malformed, optionalCredentialValue } from "./secret-decoding.js";
import { echoName } from "./text.js";

/**
 * The keys of one secret, whatever the source: Kubernetes `data`/`stringData` (base64 decoded
 * lazily, so unrelated binary keys never fail a parse) or a Vault JSON object.
 */
export interface SecretKeyBag {
  /** Key names present; names are not secret, values are. */
  readonly keys: readonly string[];
  /** The text of `key`, or undefined when absent. Throws SecretMalformed when it cannot be decoded. */
  text(key: string): string | undefined;
  /** The field path of `key` for error messages, e.g. `data.aws_access_key_id`. */
  field(key: string): string;
}

/** The layouts a secret may hold, in the order they are tried when no kind is expected. */
export type SecretLayout = "awsKeys" | "glooAws" | "glooAzure" | "servicePrincipal";

const LAYOUT_KIND: Record<SecretLayout, SecretMaterialKind> = {
  awsKeys: "awsKeys",
  glooAws: "awsKeys",
  glooAzure: "azureFunctionKeys",
  servicePrincipal: "azureServicePrincipal",
};

const KIND_LABEL: Record<SecretMaterialKind, string> = {
  awsKeys: "AWS access keys (aws_access_key_id/aws_secret_access_key or Gloo's aws format)",
  azureFunctionKeys: "Azure function keys (Gloo's azure format with apiKeys)",
  azureServicePrincipal: "an Azure service principal (azure_tenant_id, azure_client_id, ...)",
};

export const AWS_KEYS = {
  accessKeyId: "aws_access_key_id",
  secretAccessKey: "aws_secret_access_key",
  sessionToken: "aws_session_token",
} as const;

export const AZURE_SP_KEYS = {
  tenantId: "azure_tenant_id",
  clientId: "azure_client_id",
  clientSecret: "azure_client_secret",
  clientCertificate: "azure_client_certificate",
  subscriptionId: "azure_subscription_id",
  resourceGroup: "azure_resource_group",
} as const;

/** The layouts whose marker keys are present, in preference order. */
export function detectLayouts(keys: readonly string[]): SecretLayout[] {
  const has = (k: string): boolean => keys.includes(k);
  const found: SecretLayout[] = [];
  if (Object.values(AWS_KEYS).some(has)) found.push("awsKeys");
  if (has("aws")) found.push("glooAws");
  if (has("azure")) found.push("glooAzure");
  if (keys.some((k) => k.startsWith("azure_"))) found.push("servicePrincipal");
  return found;
}

/**
 * Picks the layout to parse: the first one of the expected kind, or the first found. Throws
 * SecretMalformed on `field` when nothing is recognised or only other kinds are present.
 */
export function selectLayout(keys: readonly string[], expected: SecretMaterialKind | undefined, field: string): SecretLayout {
  const found = detectLayouts(keys);
  const match = expected === undefined ? found[0] : found.find((l) => LAYOUT_KIND[l] === expected);
  if (match !== undefined) return match;
  const first = found[0];
  if (expected !== undefined && first !== undefined) {
    return malformed(field, `expected ${KIND_LABEL[expected]} but the secret holds ${KIND_LABEL[LAYOUT_KIND[first]]}`);
  }
  const wanted = expected === undefined ? "a known credential format" : KIND_LABEL[expected];
  return malformed(field, `holds no recognised keys: expected ${wanted}`);
}

/** The flat `aws_*` layout. */
export function awsFromFlatKeys(bag: SecretKeyBag): AwsCredentials {
  const creds: AwsCredentials = {
    kind: "awsKeys",
    accessKeyId: credentialValue(bag.text(AWS_KEYS.accessKeyId), bag.field(AWS_KEYS.accessKeyId)),
    secretAccessKey: credentialValue(bag.text(AWS_KEYS.secretAccessKey), bag.field(AWS_KEYS.secretAccessKey)),
  };
  const token = optionalCredentialValue(bag.text(AWS_KEYS.sessionToken), bag.field(AWS_KEYS.sessionToken));
  if (token !== undefined) creds.sessionToken = token;
  return sealed(creds);
}

/** Gloo's `aws: {accessKey, secretKey, sessionToken}` object (YAML in Kubernetes, JSON in Vault). */
export function awsFromGlooObject(value: unknown, field: string): AwsCredentials {
  if (!isObject(value)) malformed(field, "must be a mapping with accessKey and secretKey");
  const creds: AwsCredentials = {
    kind: "awsKeys",
    accessKeyId: credentialValue(ownValue(value, "accessKey"), `${field}.accessKey`),
    secretAccessKey: credentialValue(ownValue(value, "secretKey"), `${field}.secretKey`),
  };
  const token = optionalCredentialValue(ownValue(value, "sessionToken"), `${field}.sessionToken`);
  if (token !== undefined) creds.sessionToken = token;
  return sealed(creds);
}

// Function names go into field paths; they are names, not secrets, but must stay printable.
const FUNCTION_KEY_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Gloo's `azure: {apiKeys: {<function>: key, _master: key}}` object. */
export function azureKeysFromGlooObject(value: unknown, field: string): AzureFunctionKeys {
  if (!isObject(value)) malformed(field, "must be a mapping with apiKeys");
  const apiKeysField = `${field}.apiKeys`;
  const given = ownValue(value, "apiKeys");
  if (given === undefined || given === null) malformed(apiKeysField, "is missing");
  if (!isObject(given)) malformed(apiKeysField, "must be a mapping of function name to key");
  const apiKeys: Record<string, string> = {};
  for (const [name, key] of Object.entries(given)) {
    if (!FUNCTION_KEY_NAME.test(name)) malformed(apiKeysField, "has a key name that is not a function name or _master");
    // setOwn: a function named __proto__ is judged and kept like any other, never merged into the prototype.
    setOwn(apiKeys, name, credentialValue(key, `${apiKeysField}.${echoName(name)}`));
  }
  if (Object.keys(apiKeys).length === 0) malformed(apiKeysField, "is empty");
  return sealed({ kind: "azureFunctionKeys", apiKeys });
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;
const URL_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._()-]*$/;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/;

/** credbroker's flat `azure_*` service-principal layout. */
export function servicePrincipalFromFlatKeys(bag: SecretKeyBag): AzureServicePrincipal {
  const line = (key: string): string => credentialValue(bag.text(key), bag.field(key));
  const tenantId = line(AZURE_SP_KEYS.tenantId);
  // Tenant and subscription become URL parts of the authority and ARM paths, so they are checked.
  if (!TENANT.test(tenantId)) malformed(bag.field(AZURE_SP_KEYS.tenantId), "must be a tenant id (GUID) or a domain name");
  const clientId = line(AZURE_SP_KEYS.clientId);
  const subscriptionId = line(AZURE_SP_KEYS.subscriptionId);
  if (!URL_SEGMENT.test(subscriptionId)) malformed(bag.field(AZURE_SP_KEYS.subscriptionId), "must be a subscription id (GUID)");
  const sp: AzureServicePrincipal = { kind: "azureServicePrincipal", tenantId, clientId, subscriptionId };
  const secret = optionalCredentialValue(bag.text(AZURE_SP_KEYS.clientSecret), bag.field(AZURE_SP_KEYS.clientSecret));
  if (secret !== undefined) sp.clientSecret = secret;
  const certField = bag.field(AZURE_SP_KEYS.clientCertificate);
  const cert = optionalCredentialValue(bag.text(AZURE_SP_KEYS.clientCertificate), certField, "pem");
  if (cert !== undefined) {
    if (!PEM_CERT.test(cert) || !PEM_KEY.test(cert)) malformed(certField, "must be PEM holding a certificate and its private key");
    sp.clientCertificate = cert;
  }
  if (secret === undefined && cert === undefined) {
    malformed(bag.field(AZURE_SP_KEYS.clientSecret), `is missing (or set ${AZURE_SP_KEYS.clientCertificate})`);
  }
  const group = optionalCredentialValue(bag.text(AZURE_SP_KEYS.resourceGroup), bag.field(AZURE_SP_KEYS.resourceGroup));
  if (group !== undefined) {
    if (!URL_SEGMENT.test(group)) malformed(bag.field(AZURE_SP_KEYS.resourceGroup), "must be a resource group name");
    sp.resourceGroup = group;
  }
  return sealed(sp);
}
