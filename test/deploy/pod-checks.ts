// Test helper: the checks of the "restricted" Pod Security Standard, the environment the kubelet would give a container, and what a NetworkPolicy lets through. Pure.
import type { JsonObject } from "../../src/model/fields.js";
import { isObject } from "../../src/model/fields.js";
import { at } from "./render.js";

export interface PodSpec extends JsonObject {
  containers: JsonObject[];
  initContainers?: JsonObject[];
  volumes?: JsonObject[];
}

/** Volume types the restricted profile allows (kubernetes.io/docs/concepts/security/pod-security-standards). */
const RESTRICTED_VOLUMES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);

/**
 * What keeps `pod` from the restricted Pod Security Standard, one line per finding, in a fixed order
 * (volumes, then each container's runAsNonRoot, runAsUser, seccomp, escalation, capabilities, host
 * ports). Empty when it complies. Pure.
 */
export function restrictedViolations(pod: PodSpec): string[] {
  const out: string[] = [];
  for (const key of ["hostNetwork", "hostPID", "hostIPC"]) if (pod[key] === true) out.push(`pod: ${key} is true`);
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== "name");
    if (type === undefined || !RESTRICTED_VOLUMES.has(type)) out.push(`volume ${String(volume["name"])}: ${type ?? "no type"} is not allowed`);
  }
  const podContext = isObject(pod["securityContext"]) ? pod["securityContext"] : {};
  const podSeccomp = at(podContext, "seccompProfile", "type");
  if (podContext["runAsUser"] === 0) out.push("pod: runAsUser is 0");
  if (podSeccomp !== undefined && podSeccomp !== "RuntimeDefault" && podSeccomp !== "Localhost") out.push(`pod: seccompProfile ${JSON.stringify(podSeccomp)}`);
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    const name = `container ${String(container["name"])}`;
    const context = isObject(container["securityContext"]) ? container["securityContext"] : {};
    const nonRoot = context["runAsNonRoot"] ?? podContext["runAsNonRoot"];
    if (nonRoot !== true) out.push(`${name}: runAsNonRoot is not true (pod or container)`);
    if (context["runAsUser"] === 0) out.push(`${name}: runAsUser is 0`);
    const seccomp = at(context, "seccompProfile", "type") ?? podSeccomp;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") out.push(`${name}: seccompProfile is not RuntimeDefault or Localhost (pod or container)`);
    if (context["privileged"] === true) out.push(`${name}: privileged`);
    if (context["allowPrivilegeEscalation"] !== false) out.push(`${name}: allowPrivilegeEscalation is not false`);
    const drop = at(context, "capabilities", "drop");
    if (!Array.isArray(drop) || !drop.includes("ALL")) out.push(`${name}: capabilities.drop lacks ALL`);
    const add = at(context, "capabilities", "add");
    for (const cap of Array.isArray(add) ? add : []) if (cap !== "NET_BIND_SERVICE") out.push(`${name}: capabilities.add holds ${String(cap)}`);
    const ports = container["ports"];
    for (const port of Array.isArray(ports) ? ports : []) if (isObject(port) && port["hostPort"] !== undefined && port["hostPort"] !== 0) out.push(`${name}: hostPort ${JSON.stringify(port["hostPort"])}`);
  }
  return out;
}

const envName = (serviceName: string): string => serviceName.toUpperCase().replace(/-/g, "_");

/**
 * The environment the kubelet gives the first container of `deployment`'s pods: its `env` (field
 * references resolved from the Deployment's namespace) and, unless `enableServiceLinks` is false, the
 * Docker-link variables of every Service in that namespace among `objects`. Pure.
 */
export function podEnvironment(deployment: JsonObject, objects: readonly JsonObject[]): Record<string, string> {
  const namespace = String(at(deployment, "metadata", "namespace"));
  const pod = at(deployment, "spec", "template", "spec");
  const env: Record<string, string> = {};
  if (isObject(pod) && pod["enableServiceLinks"] !== false) {
    for (const service of objects.filter((o) => o["kind"] === "Service" && at(o, "metadata", "namespace") === namespace)) {
      const name = envName(String(at(service, "metadata", "name")));
      const host = "10.96.0.10";
      const ports = (at(service, "spec", "ports") as JsonObject[] | undefined) ?? [];
      const [first] = ports;
      if (first === undefined) continue;
      env[`${name}_SERVICE_HOST`] = host;
      env[`${name}_SERVICE_PORT`] = String(first["port"]);
      env[`${name}_PORT`] = `tcp://${host}:${String(first["port"])}`;
      for (const port of ports) {
        const protocol = typeof port["protocol"] === "string" ? port["protocol"] : "TCP";
        if (typeof port["name"] === "string") env[`${name}_SERVICE_PORT_${envName(port["name"])}`] = String(port["port"]);
        const prefix = `${name}_PORT_${String(port["port"])}_${protocol}`;
        env[prefix] = `${protocol.toLowerCase()}://${host}:${String(port["port"])}`;
        env[`${prefix}_PROTO`] = protocol.toLowerCase();
        env[`${prefix}_PORT`] = String(port["port"]);
        env[`${prefix}_ADDR`] = host;
      }
    }
  }
  const containerEnv = at(pod, "containers", 0, "env");
  for (const entry of Array.isArray(containerEnv) ? containerEnv : []) {
    if (!isObject(entry) || typeof entry["name"] !== "string") continue;
    if (typeof entry["value"] === "string") env[entry["name"]] = entry["value"];
    const field = at(entry, "valueFrom", "fieldRef", "fieldPath");
    if (field === "metadata.namespace") env[entry["name"]] = namespace;
    else if (typeof field === "string") env[entry["name"]] = `${field}-of-the-pod`;
  }
  return env;
}

function rulesAllow(rules: unknown, port: number, protocol: string): boolean {
  if (!Array.isArray(rules)) return false;
  return rules.some((rule) => {
    const ports = at(rule, "ports");
    if (!Array.isArray(ports) || ports.length === 0) return true;
    return ports.some((p) => at(p, "port") === port && (at(p, "protocol") ?? "TCP") === protocol);
  });
}

/** Whether some ingress rule of the NetworkPolicy admits `protocol` traffic to `port` (from some peer). Pure. */
export function ingressAllows(np: JsonObject, port: number, protocol: string): boolean {
  return rulesAllow(at(np, "spec", "ingress"), port, protocol);
}

/** Whether some egress rule of the NetworkPolicy lets `protocol` traffic out to `port` (to some peer). Pure. */
export function egressAllows(np: JsonObject, port: number, protocol: string): boolean {
  return rulesAllow(at(np, "spec", "egress"), port, protocol);
}
