// The request data of a logical request, read from the body the way Vault's buildLogicalRequestNoAuth (http/logical.go) reads it.
import { goDecodeMap } from "./go-json.js";
import { VaultError } from "./route.js";

const MERGE_PATCH = "application/merge-patch+json";

/** mime.ParseMediaType's media type, lower-cased; undefined when the header is absent or empty (Go: "mime: no media type"). */
function mediaType(contentType: string | undefined): string | undefined {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase();
  return type === undefined || type === "" ? undefined : type;
}

/** isForm: a form content type and a body that does not start like JSON. */
function isForm(raw: Buffer, contentType: string | undefined): boolean {
  if (mediaType(contentType) !== "application/x-www-form-urlencoded") return false;
  const first = raw.toString("latin1").trimStart()[0];
  return first !== "{" && first !== "[";
}

function formData(raw: Buffer): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  const params = new URLSearchParams(raw.toString("utf8"));
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    data[key] = values.length === 1 ? values[0] : values;
  }
  return data;
}

function decodeJson(raw: Buffer, prefix: string, withDetail: boolean): Record<string, unknown> {
  if (raw.toString("latin1").trim() === "") return {};
  const decoded = goDecodeMap(raw);
  if (!decoded.ok) throw new VaultError(400, [withDetail ? `${prefix}: failed to parse JSON input: ${decoded.message}` : prefix]);
  return decoded.value ?? {};
}

/**
 * The data of a logical request with HTTP method `method`. GET, LIST, DELETE and HEAD carry none
 * in the body (their data is the query string, which routes read from the URL). POST and PUT: a
 * form body when the content type says so, else JSON decoded by Go's rules, a decoding error
 * answered 400 `error parsing JSON: failed to parse JSON input: <Go's words>`. PATCH: the content
 * type must be `application/merge-patch+json` (415 otherwise, 400 when absent) and a bad body is a
 * bare 400 `error parsing JSON`. Runs after the JSON limits check, which has already answered
 * most malformed bodies 500. Throws VaultError; pure.
 */
export function logicalRequestData(method: string, contentType: string | undefined, raw: Buffer): Record<string, unknown> {
  switch (method) {
    case "POST":
    case "PUT":
      return isForm(raw, contentType) ? formData(raw) : decodeJson(raw, "error parsing JSON", true);
    case "PATCH": {
      const type = mediaType(contentType);
      if (type === undefined) throw new VaultError(400, ["mime: no media type"]);
      if (type !== MERGE_PATCH) throw new VaultError(415, [`PATCH requires Content-Type of ${MERGE_PATCH}, provided ${type}`]);
      return decodeJson(raw, "error parsing JSON", false);
    }
    default:
      return {};
  }
}

/**
 * The body of one of Vault's raw HTTP handlers (sys/unseal), decoded with parseJSONRequest alone:
 * errors read `failed to parse JSON input: <Go's words>`, answered 400 by the handler. `goType` is
 * the Go type the handler decodes into, named in type errors. Throws VaultError; pure.
 */
export function rawJsonBody(raw: Buffer, goType: string): Record<string, unknown> {
  if (raw.toString("latin1").trim() === "") return {};
  const decoded = goDecodeMap(raw);
  if (!decoded.ok) throw new VaultError(400, [`failed to parse JSON input: ${decoded.message.replace("map[string]interface {}", goType)}`]);
  return decoded.value ?? {};
}
