// deploy/ rendered as a user would (`kubectl kustomize`) and held to what the broker needs: the objects, restricted pod security, the Vault token where vault.jwtFile points, a config file the broker's own parser accepts, ports that agree everywhere; and the chart's values schema catching typos.
import { existsSync, readFileSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { Ajv } from "ajv";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { assessConfig, buildConfig, listSettings, type Config } from "../../src/config.js";
import { isObject, type JsonObject } from "../../src/model/fields.js";
import { at, CHART, findObject, HELM_EXAMPLE_VALUES, KUSTOMIZE_BASE, KUSTOMIZE_OVERLAY, kubectlMissing, objectKey, renderKustomize, ROOT } from "./render.js";
import { podEnvironment, restrictedViolations, egressAllows, ingressAllows, type PodSpec } from "./pod-checks.js";

const missing = kubectlMissing();
if (missing !== undefined) console.warn(`test/deploy/manifests.test.ts: skipped, ${missing}; the rendering checks need kubectl (its built-in kustomize)`);

const BASE_OBJECTS = [
  "Namespace /gloo-system",
  "ServiceAccount gloo-system/credbroker",
  "ClusterRole /credbroker",
  "ClusterRoleBinding /credbroker",
  "Role gloo-system/credbroker-leases",
  "RoleBinding gloo-system/credbroker-leases",
  "ConfigMap gloo-system/credbroker-config",
  "Deployment gloo-system/credbroker",
  "Service gloo-system/credbroker",
  "PodDisruptionBudget gloo-system/credbroker",
  "NetworkPolicy gloo-system/credbroker",
];

/** The pieces of one rendering the checks below look at. */
interface Rendered {
  objects: JsonObject[];
  deployment: JsonObject;
  pod: PodSpec;
  container: JsonObject;
  config: Config;
}

function podSpecOf(deployment: JsonObject): PodSpec {
  const spec = at(deployment, "spec", "template", "spec");
  if (!isObject(spec)) throw new Error("the Deployment has no pod spec");
  return spec as PodSpec;
}

/** The ConfigMap's config file through the broker's own parser, with the environment the pod's container gets. */
function brokerConfig(objects: readonly JsonObject[], deployment: JsonObject): Config {
  const configMap = findObject(objects, "ConfigMap", String(at(deployment, "spec", "template", "spec", "volumes", 0, "configMap", "name")));
  const text = at(configMap, "data", "config.yaml");
  if (typeof text !== "string") throw new Error("the ConfigMap has no config.yaml");
  return buildConfig({ file: { name: "config.yaml", text }, env: podEnvironment(deployment, objects) });
}

function rendered(dir: string): Rendered {
  const objects = renderKustomize(dir);
  const deployment = findObject(objects, "Deployment", "credbroker");
  const pod = podSpecOf(deployment);
  const container = pod.containers.find((c) => c["name"] === "credbroker");
  if (container === undefined) throw new Error("no container credbroker");
  return { objects, deployment, pod, container, config: brokerConfig(objects, deployment) };
}

function containerPort(container: JsonObject, name: string): number {
  const ports = container["ports"];
  const port = Array.isArray(ports) ? ports.find((p) => isObject(p) && p["name"] === name) : undefined;
  if (!isObject(port) || typeof port["containerPort"] !== "number") throw new Error(`the container has no port named ${name}`);
  return port["containerPort"];
}

/** Checks every rendering must pass, base and overlay alike. */
function commonChecks(load: () => Rendered): void {
  it("runs the broker's service account, with the config file the image's `credbroker run` is pointed at", () => {
    const { pod, container, deployment } = load();
    expect(pod["serviceAccountName"]).toBe("credbroker");
    expect(container["args"]).toEqual(["run", "--config", "/etc/credbroker/config.yaml"]);
    // args replace the image's CMD: with its ENTRYPOINT they must make `credbroker run --config ...`.
    const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8"))?.[1];
    expect(entrypoint, "deploy/Dockerfile's exec-form ENTRYPOINT").toBeDefined();
    const command = [...(JSON.parse(entrypoint ?? "[]") as string[]), ...(container["args"] as string[])].join(" ");
    expect(command).toMatch(/(^|\/)dist\/cli\.js run --config \/etc\/credbroker\/config\.yaml$/);
    const mount = (container["volumeMounts"] as JsonObject[]).find((m) => m["mountPath"] === "/etc/credbroker");
    const volume = pod.volumes?.find((v) => v["name"] === mount?.["name"]);
    expect(at(volume, "configMap", "name")).toBe("credbroker-config");
    expect(at(deployment, "spec", "replicas")).toBe(2);
  });

  it("meets the restricted Pod Security Standard, with a read-only root filesystem", () => {
    const { pod, container } = load();
    expect(restrictedViolations(pod)).toEqual([]);
    expect(at(pod, "securityContext", "runAsNonRoot")).toBe(true);
    expect(at(pod, "securityContext", "runAsUser")).toBe(65532);
    expect(at(pod, "securityContext", "runAsGroup")).toBe(65532);
    expect(at(pod, "securityContext", "fsGroup")).toBe(65532);
    expect(at(pod, "securityContext", "seccompProfile", "type")).toBe("RuntimeDefault");
    expect(at(container, "securityContext", "allowPrivilegeEscalation")).toBe(false);
    expect(at(container, "securityContext", "readOnlyRootFilesystem")).toBe(true);
    expect(at(container, "securityContext", "capabilities")).toEqual({ drop: ["ALL"] });
    expect(at(container, "securityContext", "seccompProfile", "type")).toBe("RuntimeDefault");
    expect(at(container, "securityContext", "runAsNonRoot")).toBe(true);
  });

  it("mounts a projected token with audience vault exactly where vault.jwtFile points", () => {
    const { pod, container, config } = load();
    const mount = (container["volumeMounts"] as JsonObject[]).find((m) => m["mountPath"] === dirname(config.vault.jwtFile));
    expect(mount?.["readOnly"]).toBe(true);
    const volume = pod.volumes?.find((v) => v["name"] === mount?.["name"]);
    const sources = at(volume, "projected", "sources");
    expect(sources).toEqual([{ serviceAccountToken: { audience: "vault", expirationSeconds: 3600, path: basename(config.vault.jwtFile) } }]);
    expect(config.vault.jwtFile).not.toBe("/var/run/secrets/kubernetes.io/serviceaccount/token");
  });

  it("elects a leader with a Lease in its own namespace, where its Role grants the leases", () => {
    const { config, deployment, objects } = load();
    expect(config.leader.enabled).toBe(true);
    expect(config.leader.namespace).toBe(at(deployment, "metadata", "namespace"));
    expect(at(findObject(objects, "Role", "credbroker-leases"), "metadata", "namespace")).toBe(config.leader.namespace);
  });

  it("probes /healthz and /readyz on the port that serves them (http.opsPort), with resources set", () => {
    const { container, config } = load();
    const opsPort = containerPort(container, "metrics");
    expect(config.http.opsPort).toBe(opsPort);
    expect(config.http.port).toBe(containerPort(container, "http"));
    for (const [probe, path] of [["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"], ["startupProbe", "/healthz"]] as const) {
      expect(at(container, probe, "httpGet", "path")).toBe(path);
      const port = at(container, probe, "httpGet", "port");
      expect(typeof port === "string" ? containerPort(container, port) : port).toBe(opsPort);
    }
    for (const kind of ["requests", "limits"]) for (const r of ["cpu", "memory"]) expect(at(container, "resources", kind, r)).toBeTruthy();
  });

  it("spreads the replicas over nodes and zones, selecting its own pods", () => {
    const { pod, deployment } = load();
    const labels = at(deployment, "spec", "template", "metadata", "labels");
    const spread = pod["topologySpreadConstraints"] as JsonObject[];
    expect(spread.map((c) => c["topologyKey"]).sort()).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
    for (const c of spread) {
      expect(c["maxSkew"]).toBe(1);
      expect(labelsMatch(at(c, "labelSelector", "matchLabels"), labels)).toBe(true);
    }
  });

  it("gets no service-link variables (they would be unknown CREDBROKER_* settings) and starts with the rest", () => {
    const { pod, deployment, objects } = load();
    expect(pod["enableServiceLinks"]).toBe(false);
    // What the kubelet would add with links on, for the Service named credbroker: the broker refuses it.
    const withLinks = podEnvironment({ ...deployment, spec: { template: { spec: { ...pod, enableServiceLinks: true } } } }, objects);
    expect(Object.keys(withLinks)).toContain("CREDBROKER_SERVICE_HOST");
    expect(assessConfig({ env: withLinks }).problems.join("\n")).toMatch(/CREDBROKER_SERVICE_HOST: unknown setting/);
  });

  it("serves the API and the metrics port on the Service, selecting the pods", () => {
    const { container, objects, deployment } = load();
    const service = findObject(objects, "Service", "credbroker");
    expect(labelsMatch(at(service, "spec", "selector"), at(deployment, "spec", "template", "metadata", "labels"))).toBe(true);
    const ports = at(service, "spec", "ports") as JsonObject[];
    expect(ports.map((p) => [p["name"], p["port"], containerPort(container, String(p["targetPort"]))])).toEqual([
      ["http", 8080, 8080],
      ["metrics", 9090, 9090],
    ]);
  });

  it("lets a drain take one replica at a time, never both", () => {
    const { objects, deployment } = load();
    const pdb = findObject(objects, "PodDisruptionBudget", "credbroker");
    expect(at(pdb, "spec", "maxUnavailable")).toBe(1);
    expect(Number(at(deployment, "spec", "replicas")) - 1).toBeGreaterThanOrEqual(1);
    expect(labelsMatch(at(pdb, "spec", "selector", "matchLabels"), at(deployment, "spec", "template", "metadata", "labels"))).toBe(true);
  });

  it("lets in the HTTP and metrics ports and out DNS, the API server, Vault and HTTPS, nothing else", () => {
    const { objects, deployment } = load();
    const np = findObject(objects, "NetworkPolicy", "credbroker");
    expect(labelsMatch(at(np, "spec", "podSelector", "matchLabels"), at(deployment, "spec", "template", "metadata", "labels"))).toBe(true);
    expect(at(np, "spec", "policyTypes")).toEqual(["Ingress", "Egress"]);
    expect(ingressAllows(np, 8080, "TCP")).toBe(true);
    expect(ingressAllows(np, 9090, "TCP")).toBe(true);
    expect(ingressAllows(np, 22, "TCP")).toBe(false);
    for (const [port, protocol] of [[53, "UDP"], [53, "TCP"], [443, "TCP"], [6443, "TCP"], [8200, "TCP"]] as const) expect(egressAllows(np, port, protocol), `${protocol} ${port}`).toBe(true);
    for (const port of [80, 22, 2379, 5432]) expect(egressAllows(np, port, "TCP"), `TCP ${port}`).toBe(false);
  });
}

function labelsMatch(selector: unknown, labels: unknown): boolean {
  if (!isObject(selector) || !isObject(labels) || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe.skipIf(missing !== undefined)("deploy/kustomize/base", () => {
  let cached: Rendered | undefined;
  const load = (): Rendered => (cached ??= rendered(KUSTOMIZE_BASE));

  it("holds exactly the broker's objects", () => {
    expect(load().objects.map(objectKey).sort()).toEqual([...BASE_OBJECTS].sort());
  });

  it("reads Kubernetes Secrets only, in every namespace", () => {
    const { config } = load();
    expect(config.secrets.sources).toEqual(["kubernetes"]);
    expect(config.kubernetes.namespaces).toEqual([]);
    expect(config.vault.address).toBeUndefined();
  });

  it("labels every object but the Namespace, which uninstalling by label must leave to Gloo", () => {
    for (const obj of load().objects) {
      const name = at(obj, "metadata", "labels", "app.kubernetes.io/name");
      expect(name, objectKey(obj)).toBe(obj["kind"] === "Namespace" ? undefined : "credbroker");
    }
  });

  commonChecks(load);
});

describe.skipIf(missing !== undefined)("deploy/kustomize/overlays/example", () => {
  let cached: Rendered | undefined;
  const load = (): Rendered => (cached ??= rendered(KUSTOMIZE_OVERLAY));

  it("adds the ServiceMonitor to the base's objects", () => {
    expect(load().objects.map(objectKey).sort()).toEqual([...BASE_OBJECTS, "ServiceMonitor gloo-system/credbroker"].sort());
  });

  it("configures Vault after Kubernetes, two namespaces, its image and more memory", () => {
    const { config, container } = load();
    expect(config.secrets.sources).toEqual(["kubernetes", "vault"]);
    expect(config.vault).toMatchObject({ address: "https://vault.vault.svc:8200", role: "credbroker", authMount: "kubernetes", kvMount: "secret", authMethod: "kubernetes" });
    expect(config.kubernetes.namespaces).toEqual(["team-orders", "team-payments"]);
    expect(container["image"]).toBe("registry.example.com/platform/credbroker:0.1.0");
    expect(at(container, "resources", "limits", "memory")).toBe("2Gi");
  });

  it("narrows the API server and Vault in the NetworkPolicy", () => {
    const np = findObject(load().objects, "NetworkPolicy", "credbroker");
    expect(at(np, "spec", "egress", 1, "to")).toEqual([{ ipBlock: { cidr: "10.0.0.0/24" } }]);
    expect(at(np, "spec", "egress", 2, "to", 0, "namespaceSelector", "matchLabels")).toEqual({ "kubernetes.io/metadata.name": "vault" });
  });

  it("scrapes the Service's metrics port with its ServiceMonitor", () => {
    const { objects } = load();
    const monitor = findObject(objects, "ServiceMonitor", "credbroker");
    const service = findObject(objects, "Service", "credbroker");
    expect(labelsMatch(at(monitor, "spec", "selector", "matchLabels"), at(service, "metadata", "labels"))).toBe(true);
    expect(at(monitor, "spec", "namespaceSelector", "matchNames")).toEqual([at(service, "metadata", "namespace")]);
    const port = at(monitor, "spec", "endpoints", 0, "port");
    expect((at(service, "spec", "ports") as JsonObject[]).some((p) => p["name"] === port)).toBe(true);
    expect(at(monitor, "spec", "endpoints", 0, "path")).toBe("/metrics");
  });

  commonChecks(load);
});

describe("restricted pod checks", () => {
  it("catch a pod that may run as root or escalate", () => {
    const pod: PodSpec = { containers: [{ name: "c", securityContext: { allowPrivilegeEscalation: true, capabilities: { add: ["NET_ADMIN"] } } }], volumes: [{ name: "h", hostPath: { path: "/" } }] };
    expect(restrictedViolations(pod)).toEqual([
      "volume h: hostPath is not allowed",
      "container c: runAsNonRoot is not true (pod or container)",
      "container c: seccompProfile is not RuntimeDefault or Localhost (pod or container)",
      "container c: allowPrivilegeEscalation is not false",
      "container c: capabilities.drop lacks ALL",
      "container c: capabilities.add holds NET_ADMIN",
    ]);
  });
});

describe("deploy/helm/credbroker/values.schema.json", () => {
  const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8")) as Record<string, unknown>;
  const defaults = parseYaml(readFileSync(join(CHART, "values.yaml"), "utf8")) as JsonObject;
  const validate = new Ajv({ strict: true, allErrors: true, strictTypes: false }).compile(schema);
  const check = (values: JsonObject): string[] => (validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`));

  it("accepts the chart's values.yaml, and the example values merged over it", () => {
    expect(check(defaults)).toEqual([]);
    expect(check(mergeValues(defaults, parseYaml(readFileSync(HELM_EXAMPLE_VALUES, "utf8")) as JsonObject))).toEqual([]);
  });

  it("rejects a misspelt key at any level, extraSettings included", () => {
    expect(check({ ...defaults, replica: 3 }).join()).toMatch(/additionalProperty.*replica/);
    expect(check(mergeValues(defaults, { vault: { adress: "https://vault:8200" } })).join()).toMatch(/\/vault .*adress/);
    expect(check(mergeValues(defaults, { networkPolicy: { apiServer: { cidr: ["10.0.0.1/32"] } } })).join()).toMatch(/\/networkPolicy\/apiServer .*cidr"/);
    expect(check(mergeValues(defaults, { extraSettings: { aws: { allowAmbientCredential: true } } })).join()).toMatch(/\/extraSettings\/aws .*allowAmbientCredential/);
    expect(check(mergeValues(defaults, { extraSettings: { contoller: {} } })).join()).toMatch(/\/extraSettings .*contoller/);
  });

  it("rejects Vault as a source without its address, and a source credbroker does not know", () => {
    expect(check({ ...defaults, secretSources: ["kubernetes", "vault"] }).join()).toMatch(/\/vault\/address/);
    expect(check({ ...defaults, secretSources: ["etcd"] }).join()).toMatch(/\/secretSources\/0/);
  });

  it("lists in extraSettings exactly the sections and settings credbroker knows", () => {
    const known: Record<string, string[]> = {};
    for (const s of listSettings()) {
      const [section = "", key = ""] = s.path.split(".");
      (known[section] ??= []).push(key);
    }
    const sections = at(schema, "properties", "extraSettings", "properties");
    const listed = Object.fromEntries(Object.entries(isObject(sections) ? sections : {}).map(([name, s]) => [name, Object.keys(isObject(at(s, "properties")) ? (at(s, "properties") as JsonObject) : {})]));
    // On a difference: add or remove the setting in values.schema.json, properties.extraSettings.
    expect(listed).toEqual(known);
  });

  it("renders its RBAC from the kustomize base's own file", () => {
    expect(readFileSync(join(CHART, "files/rbac.yaml"), "utf8")).toBe(readFileSync(join(ROOT, "deploy/kustomize/base/rbac.yaml"), "utf8"));
  });
});

describe.skipIf(missing !== undefined)("docs/install.md", () => {
  const doc = readFileSync(join(ROOT, "docs/install.md"), "utf8");

  it("lists every object the base installs, by kind and name", () => {
    const table = doc.slice(doc.indexOf("| object |"), doc.indexOf("\n\n", doc.indexOf("| object |")));
    for (const obj of renderKustomize(KUSTOMIZE_BASE).filter((o) => o["kind"] !== "Namespace")) {
      const kind = String(obj["kind"]);
      const row = table.split("\n").find((line) => line.startsWith(`| ${kind} `) || line.includes(` ${kind} and `) || line.includes(`and ${kind} `));
      expect(row, kind).toBeDefined();
      expect(row, kind).toContain(String(at(obj, "metadata", "name")));
    }
  });

  it("names only paths that exist", () => {
    const paths = [...doc.matchAll(/`((?:deploy|policies|test)\/[^`\s]+)`/g)].map((m) => String(m[1]).replace(/\/$/, ""));
    expect(paths.length).toBeGreaterThan(5);
    for (const path of paths) expect(existsSync(join(ROOT, path)), path).toBe(true);
  });
});

/** Helm's merge of user values over the chart's: maps merge key by key, anything else replaces. Pure. */
function mergeValues(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const current = out[k];
    out[k] = isObject(current) && isObject(v) ? mergeValues(current, v) : v;
  }
  return out;
}
