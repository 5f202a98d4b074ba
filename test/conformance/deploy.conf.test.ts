// deploy/ against a real kube-apiserver: every rendering (kustomize base and overlay, the Helm chart with default and example values) passes a strict server-side dry-run, the pod passes the real PodSecurity admission at "restricted", Helm and kustomize render the same objects, and install, upgrade and uninstall leave what docs/install.md says.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isObject, type JsonObject } from "../../src/model/fields.js";
import { startRealCluster, type TestCluster } from "../support/cluster.js";
import { at, builtHelm, byKey, findObject, HELM_EXAMPLE_VALUES, KUSTOMIZE_BASE, KUSTOMIZE_OVERLAY, objectKey, parseObjects, renderHelm, renderKustomize, ROOT } from "../deploy/render.js";

const SERVICEMONITOR_CRD = join(ROOT, "test/conformance/fixtures/servicemonitor-crd.yaml");

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with `input` on stdin; never throws on a non-zero exit (the result says it). */
function runWithInput(file: string, args: string[], input = ""): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { encoding: "utf8", timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") reject(new Error(`${file} could not be run`, { cause: err }));
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input);
  });
}

describe("deploy/ on a real kube-apiserver", () => {
  let cluster: TestCluster;
  let helm: string;
  let kubeconfig: string;
  const kubectl = (args: string[], input?: string): Promise<CommandResult> => runWithInput("kubectl", ["--kubeconfig", kubeconfig, ...args], input);
  const helmCmd = (args: string[]): Promise<CommandResult> => runWithInput(helm, ["--kubeconfig", kubeconfig, ...args]);

  /** `kubectl apply --dry-run=server --validate=strict -o json`: the objects as the API server would store them. */
  async function dryRun(objects: readonly JsonObject[]): Promise<JsonObject[]> {
    const result = await kubectl(["apply", "--dry-run=server", "--validate=strict", "-o", "json", "-f", "-"], objects.map((o) => toYaml(o)).join("---\n"));
    expect(result.code, result.stderr).toBe(0);
    // Objects the harness created without kubectl carry no last-applied annotation, and kubectl says so;
    // any other warning (a deprecated field, a PodSecurity finding) fails.
    const warnings = result.stderr.split("\n").filter((l) => l.trim() !== "" && !/missing the kubectl.kubernetes.io\/last-applied-configuration annotation/.test(l));
    expect(warnings).toEqual([]);
    const answer = JSON.parse(result.stdout) as unknown;
    const items = isObject(answer) && answer["kind"] === "List" ? answer["items"] : [answer];
    return Array.isArray(items) ? items.filter(isObject) : [];
  }

  beforeAll(async () => {
    // Not a skip: the conformance tier must render the chart, and a missing helm is a broken setup.
    helm = builtHelm();
    cluster = await startRealCluster();
    kubeconfig = cluster.controlPlane!.adminKubeconfig;
    const crd = await kubectl(["apply", "-f", SERVICEMONITOR_CRD]);
    expect(crd.code, crd.stderr).toBe(0);
    const established = await kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd/servicemonitors.monitoring.coreos.com"]);
    expect(established.code, established.stderr).toBe(0);
  }, 20 * 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  const renderings: [string, () => JsonObject[]][] = [
    ["the kustomize base", () => renderKustomize(KUSTOMIZE_BASE)],
    ["the kustomize example overlay (ServiceMonitor included, on the fixture CRD)", () => renderKustomize(KUSTOMIZE_OVERLAY)],
    ["the Helm chart with default values", () => renderHelm(helm)],
    ["the Helm chart with the example values", () => renderHelm(helm, { valuesFiles: [HELM_EXAMPLE_VALUES] })],
  ];

  for (const [name, render] of renderings) {
    it(`accepts ${name} in a strict server-side dry-run`, async () => {
      const objects = render();
      const stored = await dryRun(objects);
      expect(stored.map(objectKey).sort()).toEqual(objects.map(objectKey).sort());
      // The server's defaulting ran: it saw the pod template, not just the text.
      expect(at(findObject(stored, "Deployment", "credbroker"), "spec", "template", "spec", "dnsPolicy")).toBe("ClusterFirst");
    });

    it(`runs the pod of ${name} under PodSecurity "restricted" enforcement`, async () => {
      const label = await kubectl(["label", "--overwrite", "namespace", "gloo-system", "pod-security.kubernetes.io/enforce=restricted", "pod-security.kubernetes.io/enforce-version=latest"]);
      expect(label.code, label.stderr).toBe(0);
      const deployment = findObject(render(), "Deployment", "credbroker");
      const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "credbroker-psa", namespace: "gloo-system" }, spec: at(deployment, "spec", "template", "spec") };
      expect((await dryRun([pod])).map(objectKey)).toEqual(["Pod gloo-system/credbroker-psa"]);
    });
  }

  it("refuses, in the same checks, a field that does not exist and a pod that may escalate (the checks can fail)", async () => {
    const deployment = structuredClone(findObject(renderKustomize(KUSTOMIZE_BASE), "Deployment", "credbroker"));
    const podSpec = at(deployment, "spec", "template", "spec") as JsonObject;
    podSpec["enableServiceLink"] = false;
    const typo = await kubectl(["apply", "--dry-run=server", "--validate=strict", "-f", "-"], toYaml(deployment));
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/unknown field "spec.template.spec.enableServiceLink"/);

    delete podSpec["enableServiceLink"];
    const context = at(podSpec, "containers", 0, "securityContext") as JsonObject;
    context["allowPrivilegeEscalation"] = true;
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "credbroker-psa", namespace: "gloo-system" }, spec: podSpec };
    await kubectl(["label", "--overwrite", "namespace", "gloo-system", "pod-security.kubernetes.io/enforce=restricted"]);
    const escalating = await kubectl(["apply", "--dry-run=server", "-f", "-"], toYaml(pod));
    expect(escalating.code).not.toBe(0);
    expect(escalating.stderr).toMatch(/violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });

  it("renders with Helm's default values what the kustomize base renders, object for object, but the Namespace", () => {
    const kustomize = byKey(renderKustomize(KUSTOMIZE_BASE));
    const chart = byKey(renderHelm(helm));
    // Helm leaves the namespace to `--create-namespace`: a chart that owned gloo-system could not be
    // installed next to Gloo, and uninstalling it would delete Gloo's namespace.
    kustomize.delete("Namespace /gloo-system");
    expect([...chart.keys()].sort()).toEqual([...kustomize.keys()].sort());
    for (const [key, obj] of kustomize) expect(chart.get(key), key).toEqual(obj);
  });

  it("renders with the example values what the example overlay renders, object for object, but the Namespace", () => {
    const kustomize = byKey(renderKustomize(KUSTOMIZE_OVERLAY));
    const chart = byKey(renderHelm(helm, { valuesFiles: [HELM_EXAMPLE_VALUES] }));
    kustomize.delete("Namespace /gloo-system");
    expect([...chart.keys()].sort()).toEqual([...kustomize.keys()].sort());
    for (const [key, obj] of kustomize) expect(chart.get(key), key).toEqual(obj);
  });

  it("uninstalls the kustomize install by label and leaves the namespace, and Gloo's Upstreams, alone", async () => {
    await cluster.apply([{ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { name: "kept", namespace: "gloo-system" }, spec: { static: { hosts: [{ addr: "example.com", port: 443 }] } } }]);
    const applied = await kubectl(["apply", "-k", KUSTOMIZE_BASE]);
    expect(applied.code, applied.stderr).toBe(0);
    const deleted = await kubectl(["delete", "-k", KUSTOMIZE_BASE, "-l", "app.kubernetes.io/name=credbroker", "-o", "name"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const base = renderKustomize(KUSTOMIZE_BASE).filter((o) => o["kind"] !== "Namespace");
    expect(deleted.stdout.trim().split("\n").length).toBe(base.length);
    expect(deleted.stdout).not.toMatch(/^namespace\//m);
    const namespace = JSON.parse((await kubectl(["get", "namespace", "gloo-system", "-o", "json"])).stdout) as JsonObject;
    expect(at(namespace, "metadata", "deletionTimestamp")).toBeUndefined();
    expect((await kubectl(["get", "upstream", "-n", "gloo-system", "kept", "-o", "name"])).stdout.trim()).toBe("upstream.gloo.solo.io/kept");
    await cluster.apply(parseObjects(await readFile(join(KUSTOMIZE_BASE, "rbac.yaml"), "utf8")));
  });

  it("installs, upgrades and uninstalls with Helm, leaving the namespace alone", async () => {
    await kubectl(["label", "--overwrite", "namespace", "gloo-system", "pod-security.kubernetes.io/enforce-"]);
    // The harness's RBAC objects belong to no release; Helm would refuse to adopt them.
    const cleared = await kubectl(["delete", "-f", join(KUSTOMIZE_BASE, "rbac.yaml"), "--ignore-not-found"]);
    expect(cleared.code, cleared.stderr).toBe(0);
    const install = await helmCmd(["install", "credbroker", join(ROOT, "deploy/helm/credbroker"), "--namespace", "gloo-system"]);
    expect(install.code, install.stderr).toBe(0);
    const upgrade = await helmCmd(["upgrade", "credbroker", join(ROOT, "deploy/helm/credbroker"), "--namespace", "gloo-system", "--values", HELM_EXAMPLE_VALUES]);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    const config = JSON.parse((await kubectl(["get", "configmap", "-n", "gloo-system", "credbroker-config", "-o", "json"])).stdout) as JsonObject;
    expect(String(at(config, "data", "config.yaml"))).toContain("https://vault.vault.svc:8200");
    const uninstall = await helmCmd(["uninstall", "credbroker", "--namespace", "gloo-system"]);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    const left = await kubectl(["get", "deployment,service,configmap,serviceaccount,role,rolebinding,networkpolicy,poddisruptionbudget,servicemonitor", "-n", "gloo-system", "-l", "app.kubernetes.io/name=credbroker", "-o", "name"]);
    expect(left.stdout.trim()).toBe("");
    const clusterWide = await kubectl(["get", "clusterrole,clusterrolebinding", "-l", "app.kubernetes.io/name=credbroker", "-o", "name"]);
    expect(clusterWide.stdout.trim()).toBe("");
    expect((await kubectl(["get", "namespace", "gloo-system", "-o", "name"])).stdout.trim()).toBe("namespace/gloo-system");
    // Put the harness's RBAC back, for whatever runs after.
    await cluster.apply(parseObjects(await readFile(join(KUSTOMIZE_BASE, "rbac.yaml"), "utf8")));
  }, 180_000);
});
