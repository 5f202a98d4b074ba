// Test helper: renders deploy/ with `kubectl kustomize` and `helm template`, and normalises Helm's objects so the two can be compared.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import type { JsonObject } from "../../src/model/fields.js";
import { isObject } from "../../src/model/fields.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const KUSTOMIZE_BASE = join(ROOT, "deploy/kustomize/base");
export const KUSTOMIZE_OVERLAY = join(ROOT, "deploy/kustomize/overlays/example");
export const CHART = join(ROOT, "deploy/helm/credbroker");
/** Values mirroring the example overlay, so the chart can be held to that rendering too. */
export const HELM_EXAMPLE_VALUES = join(ROOT, "test/deploy/fixtures/helm-values-example.yaml");

/** Labels Helm adds for its own bookkeeping; kustomize's objects carry only app.kubernetes.io/name. */
export const HELM_LABELS = ["helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/version"] as const;
/** The chart rolls its pods when the config changes; kustomize leaves that to `rollout restart`. */
export const HELM_ANNOTATIONS = ["checksum/config"] as const;

/** Why kubectl cannot be run here, or undefined when it can. Runs `kubectl version --client`. */
export function kubectlMissing(): string | undefined {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "pipe", timeout: 30_000 });
    return undefined;
  } catch (err) {
    return `kubectl is not installed or does not run (${err instanceof Error ? err.message.split("\n")[0] : "unknown error"})`;
  }
}

/** Every non-empty YAML document of `text`, as plain objects. Throws on a document that does not parse. */
export function parseObjects(text: string): JsonObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`not YAML: ${doc.errors[0]?.message ?? "unknown"}`);
      return doc.toJS() as unknown;
    })
    .filter(isObject);
}

/** `kubectl kustomize dir`, parsed. Throws with kubectl's stderr when it fails. */
export function renderKustomize(dir: string): JsonObject[] {
  return parseObjects(execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 }));
}

/**
 * `helm template credbroker <chart> --namespace <ns>` with the given values files, parsed. Throws
 * with helm's stderr (a schema violation, a template error) when it fails.
 */
export function renderHelm(helm: string, options: { namespace?: string; valuesFiles?: string[]; set?: string[] } = {}): JsonObject[] {
  return parseObjects(helmTemplate(helm, options));
}

/** The raw output of `helm template` (see renderHelm); throws an Error holding helm's stderr. */
function helmTemplate(helm: string, options: { namespace?: string; valuesFiles?: string[]; set?: string[] } = {}): string {
  const args = ["template", "credbroker", CHART, "--namespace", options.namespace ?? "gloo-system"];
  for (const file of options.valuesFiles ?? []) args.push("--values", file);
  for (const s of options.set ?? []) args.push("--set", s);
  try {
    return execFileSync(helm, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
  } catch (err) {
    const stderr = isObject(err) && typeof err["stderr"] === "string" ? err["stderr"] : "";
    throw new Error(`helm template failed: ${stderr.trim()}`, { cause: err });
  }
}

/**
 * The helm binary `test/conformance/servers/build.sh helm` builds (or finds cached): its path from
 * the "helm <path>" line. Throws, with the script's output, when it cannot be built.
 */
export function builtHelm(): string {
  let out: string;
  try {
    out = execFileSync("bash", [join(ROOT, "test/conformance/servers/build.sh"), "helm"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 20 * 60_000 });
  } catch (err) {
    const stderr = isObject(err) && typeof err["stderr"] === "string" ? err["stderr"] : "";
    throw new Error(`helm could not be built by test/conformance/servers/build.sh helm (needs Go 1.26 and the Go module proxy): ${stderr.trim().slice(-2000)}`, { cause: err });
  }
  const line = /^helm (\S+)$/m.exec(out);
  if (line?.[1] === undefined) throw new Error(`build.sh helm printed no "helm <path>" line: ${out.slice(0, 500)}`);
  return line[1];
}

/** `Kind namespace/name` (namespace empty for cluster-scoped objects): one key per object. */
export function objectKey(obj: JsonObject): string {
  const meta = isObject(obj["metadata"]) ? obj["metadata"] : {};
  return `${String(obj["kind"])} ${typeof meta["namespace"] === "string" ? meta["namespace"] : ""}/${String(meta["name"])}`;
}

/** The one object of that kind and name; throws naming what is there when it is missing. */
export function findObject(objects: readonly JsonObject[], kind: string, name: string): JsonObject {
  const found = objects.filter((o) => o["kind"] === kind && isObject(o["metadata"]) && o["metadata"]["name"] === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length} among ${objects.map(objectKey).join(", ")}`);
  return found[0] as JsonObject;
}

/** Reads a nested value by keys and array indexes; undefined when a step is missing. Pure. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (typeof step === "number") current = Array.isArray(current) ? (current[step] as unknown) : undefined;
    else current = isObject(current) ? current[step] : undefined;
  }
  return current;
}

function withoutKeys(map: unknown, keys: readonly string[]): unknown {
  if (!isObject(map)) return map;
  const kept = Object.fromEntries(Object.entries(map).filter(([k]) => !keys.includes(k)));
  return Object.keys(kept).length === 0 ? undefined : kept;
}

function stripMeta(meta: unknown): unknown {
  if (!isObject(meta)) return meta;
  const out: JsonObject = { ...meta };
  const labels = withoutKeys(meta["labels"], HELM_LABELS);
  const annotations = withoutKeys(meta["annotations"], HELM_ANNOTATIONS);
  if (labels === undefined) delete out["labels"];
  else out["labels"] = labels;
  if (annotations === undefined) delete out["annotations"];
  else out["annotations"] = annotations;
  return out;
}

/**
 * An object as kustomize would have written it: Helm's bookkeeping labels and annotations removed
 * (from the object and its pod template), and a ConfigMap's config.yaml parsed, so the comparison is
 * of settings, not of comments and key order. Pure (returns a copy).
 */
export function comparable(obj: JsonObject): JsonObject {
  const copy = structuredClone(obj);
  copy["metadata"] = stripMeta(copy["metadata"]);
  const template = at(copy, "spec", "template");
  if (isObject(template)) template["metadata"] = stripMeta(template["metadata"]);
  const data = copy["data"];
  if (copy["kind"] === "ConfigMap" && isObject(data) && typeof data["config.yaml"] === "string") {
    data["config.yaml"] = parseYaml(data["config.yaml"], { schema: "failsafe" }) as unknown;
  }
  return copy;
}

/** Objects by objectKey, each made comparable. */
export function byKey(objects: readonly JsonObject[]): Map<string, JsonObject> {
  return new Map(objects.map((o) => [objectKey(o), comparable(o)]));
}
