// Parses secret payloads from Kubernetes and Vault (every Gloo and credbroker format) into sealed SecretMaterial.
import type { SecretMaterial, SecretMaterialKind } from "./credentials.js";
import { SecretNotFoundError } from "./errors.js";
import { isObject, ownValue, type JsonObject } from "./fields.js";
import {
  awsFromFlatKeys,
  awsFromGlooObject,
  azureKeysFromGlooObject,
  selectLayout,
  servicePrincipalFromFlatKeys,
  type SecretKeyBag,
} from "./secret-builders.js";
import { decodeBase64Text, malformed, parseYamlMapping } from "./secret-decoding.js";
import { echoName } from "./text.js";
import { assertNever } from "./upstream.js";

/** Gloo marks secrets that hold its own Secret type (legacy aws, azure) with this annotation. */
export const GLOO_RESOURCE_KIND_ANNOTATION = "resource_kind";
export const GLOO_RESOURCE_KIND_SECRET = "*v1.Secret";

/**
 * Parses a Kubernetes Secret object (as the API server returns it, or as written with
 * `stringData`). Pure. Recognises the current AWS keys, Gloo's legacy `aws` and `azure` YAML
 * keys, and credbroker's Azure service-principal keys. `stringData` wins over `data` for the
 * same key, as the API server does on write. The `resource_kind` annotation is not required:
 * older Gloo releases did not always set it, and the key names are unambiguous.
 *
 * Throws ValidationError(SecretMalformed) naming the key (`data.aws_secret_access_key`) when a
 * key is missing, empty, not base64, not UTF-8 or not parseable, or when `expected` is given and
 * the secret holds another format. No message ever contains a value from the secret.
 */
export function parseKubernetesSecret(secret: unknown, expected?: SecretMaterialKind): SecretMaterial {
  if (!isObject(secret)) return malformed("secret", "must be a Secret object");
  const data = optionalMap(secret.data, "data");
  const stringData = optionalMap(secret.stringData, "stringData");
  const keys = [...new Set([...Object.keys(data), ...Object.keys(stringData)])];
  if (keys.length === 0) malformed("data", "is empty: the secret holds no keys");
  const bag: SecretKeyBag = {
    keys,
    // Object.hasOwn, never `in`: a key such as __proto__ or constructor is a key like any other.
    field: (key) => (Object.hasOwn(stringData, key) ? `stringData.${echoName(key)}` : `data.${echoName(key)}`),
    text: (key) => {
      if (Object.hasOwn(stringData, key)) {
        const v = stringData[key];
        if (typeof v !== "string") return malformed(`stringData.${echoName(key)}`, "must be a string");
        return v;
      }
      return Object.hasOwn(data, key) ? decodeBase64Text(data[key], `data.${echoName(key)}`) : undefined;
    },
  };
  const layout = selectLayout(keys, expected, "data");
  switch (layout) {
    case "awsKeys":
      return awsFromFlatKeys(bag);
    case "servicePrincipal":
      return servicePrincipalFromFlatKeys(bag);
    case "glooAws":
      return awsFromGlooObject(yamlKey(bag, "aws"), bag.field("aws"));
    case "glooAzure":
      return azureKeysFromGlooObject(yamlKey(bag, "azure"), bag.field("azure"));
    default:
      return assertNever(layout, "secret layout");
  }
}

/**
 * Parses a Vault KV version 2 read response (`{data: {data, metadata}}`). Pure. A version whose
 * metadata has a `deletion_time` or `destroyed: true` does not exist: throws SecretNotFoundError.
 * `data.data` may be Gloo's Secret JSON (`{metadata, aws: {...}}` or `{azure: {apiKeys}}`) or
 * the flat `aws_*` / `azure_*` keys. Other failures as parseKubernetesSecret, on `data.data.*`.
 */
export function parseVaultPayload(response: unknown, expected?: SecretMaterialKind): SecretMaterial {
  if (!isObject(response)) return malformed("response", "must be a Vault read response object");
  if (!isObject(response.data)) return malformed("data", "is missing: not a Vault read response");
  const envelope = response.data;
  if (envelope.metadata !== undefined && envelope.metadata !== null) {
    if (!isObject(envelope.metadata)) return malformed("data.metadata", "must be an object");
    const { deletion_time: deletionTime, destroyed } = envelope.metadata;
    if (destroyed === true) throw new SecretNotFoundError("the Vault secret's current version is destroyed");
    if (typeof deletionTime === "string" && deletionTime !== "") {
      throw new SecretNotFoundError("the Vault secret's current version is deleted");
    }
  }
  if (envelope.data === undefined || envelope.data === null) {
    return malformed("data.data", "is missing (is the mount KV version 1?)");
  }
  return parseGlooSecretObject(envelope.data, "data.data", expected);
}

/** Parses a Vault KV version 1 read response (`{data: {...}}`). Pure; failures as parseVaultPayload, on `data.*`. */
export function parseVaultKv1Payload(response: unknown, expected?: SecretMaterialKind): SecretMaterial {
  if (!isObject(response)) return malformed("response", "must be a Vault read response object");
  if (response.data === undefined || response.data === null) return malformed("data", "is missing: not a Vault read response");
  return parseGlooSecretObject(response.data, "data", expected);
}

/**
 * Parses a secret held as a JSON object: Gloo's Secret (`aws`/`azure` sub-objects, `metadata`
 * ignored) or flat keys with string values. `field` is the path of the object itself.
 */
export function parseGlooSecretObject(value: unknown, field: string, expected?: SecretMaterialKind): SecretMaterial {
  if (!isObject(value)) return malformed(field, "must be an object");
  const obj = value;
  const keys = Object.keys(obj);
  const bag: SecretKeyBag = {
    keys,
    field: (key) => `${field}.${echoName(key)}`,
    text: (key) => {
      const v = ownValue(obj, key);
      if (v === undefined || v === null) return undefined;
      if (typeof v !== "string") return malformed(`${field}.${echoName(key)}`, "must be a string");
      return v;
    },
  };
  const layout = selectLayout(keys, expected, field);
  switch (layout) {
    case "awsKeys":
      return awsFromFlatKeys(bag);
    case "servicePrincipal":
      return servicePrincipalFromFlatKeys(bag);
    case "glooAws":
      return awsFromGlooObject(ownValue(obj, "aws"), `${field}.aws`);
    case "glooAzure":
      return azureKeysFromGlooObject(ownValue(obj, "azure"), `${field}.azure`);
    default:
      return assertNever(layout, "secret layout");
  }
}

function optionalMap(value: unknown, field: string): JsonObject {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) return malformed(field, "must be a mapping of key to value");
  return value;
}

function yamlKey(bag: SecretKeyBag, key: string): JsonObject {
  const text = bag.text(key);
  if (text === undefined || text.trim() === "") return malformed(bag.field(key), "is empty");
  return parseYamlMapping(text, bag.field(key));
}
