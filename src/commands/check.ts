// `credbroker check`: resolve, verify and discover one upstream once, print the verdict, write nothing.
import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import { shownName, terminalLine } from "../config/terminal-text.js";
import type { Config } from "../config.js";
import { asSettingFailure, fileProblem, settingFailure } from "../config/setting-files.js";
import { evaluate } from "../controller/evaluate.js";
import { createKubeUpstreamApi } from "../controller/kube-upstreams.js";
import { parseUpstreamOptions } from "../model/annotations.js";
import { describeIdentity } from "../model/cloud-results.js";
import type { ConditionOutcome } from "../model/conditions.js";
import { desiredState } from "../model/desired-state.js";
import { CredbrokerError, toCredbrokerError } from "../model/errors.js";
import { failedEvaluation, type Evaluation } from "../model/evaluation.js";
import { isObject, type JsonObject } from "../model/fields.js";
import { objectKey } from "../model/object-meta.js";
import { Redactor } from "../runtime/redact.js";
import type { FunctionCounts, StatusEntry } from "../model/status.js";
import { isCloudUpstream, notManagedBecause, parseUpstream, upstreamKey, type FunctionListField } from "../model/upstream.js";
import { createLogger } from "../observability/log.js";
import { Metrics } from "../observability/metrics.js";
import { buildCloud, buildSecrets, controllerSettings, loadKubeConfig } from "./compose.js";

export interface CheckOptions {
  file?: string;
  namespace?: string;
  name?: string;
  output: "table" | "json";
  /** Discover functions even if the upstream does not ask for it. */
  discover: boolean;
  out: NodeJS.WritableStream;
  /** Where a manifest that cannot be checked is reported (stderr by default). */
  err?: NodeJS.WritableStream;
}

export interface CheckReport {
  upstream: string;
  kind: string;
  state: StatusEntry["state"];
  reason: string;
  identity?: StatusEntry["details"]["identity"];
  conditions: ConditionOutcome[];
  /** The list as it would be published: hand-written entries and discovered ones, merged and capped. */
  functions?: FunctionCounts & { entries: Record<string, unknown>[] };
}

/** Exit codes: 0 Accepted or Warning, 1 Rejected, 2 could not decide (Pending, transient failure, bad input). */
export function exitCodeOf(state: StatusEntry["state"]): number {
  return state === "Accepted" || state === "Warning" ? 0 : state === "Rejected" ? 1 : 2;
}

/** Aliases a manifest may expand; a billion-laughs manifest is refused at once instead of filling memory. */
export const MAX_MANIFEST_ALIASES = 100;

/** A manifest given with -f that cannot be checked: `exitCode` 1 when it does not parse (README), 2 when it cannot be read. */
class ManifestProblem extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

/**
 * The Upstreams of a manifest file (other kinds skipped), each with the default namespace when it
 * names none, as kubectl apply would. Reads the file (I/O). Throws ManifestProblem naming the file,
 * never repeating its content (a manifest may carry a Secret).
 */
async function manifestObjects(file: string): Promise<JsonObject[]> {
  const named = shownName(file);
  const unreadable = fileProblem(file);
  if (unreadable !== undefined) throw new ManifestProblem(`${named}: ${unreadable}`, 2);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ManifestProblem(`${named}: cannot be read`, 2);
  }
  const docs = parseAllDocuments(text, { logLevel: "error" });
  const failed = docs.find((d) => d.errors.length > 0)?.errors[0];
  if (failed !== undefined) {
    const at = failed.linePos?.[0];
    throw new ManifestProblem(`${named}: not valid YAML or JSON${at !== undefined ? ` (line ${at.line}, column ${at.col})` : ""}`, 1);
  }
  let values: unknown[];
  try {
    values = docs.map((d) => d.toJS({ maxAliasCount: MAX_MANIFEST_ALIASES }) as unknown);
  } catch (err) {
    if (err instanceof ReferenceError) throw new ManifestProblem(`${named}: more than ${MAX_MANIFEST_ALIASES} YAML aliases to expand (an alias bomb?); not checked`, 1);
    throw new ManifestProblem(`${named}: not a YAML or JSON Upstream manifest`, 1);
  }
  // A manifest may carry the Upstream's Secret and other objects too: only Upstreams are checked.
  const objects = values.filter(isObject).filter((o) => o.kind === undefined || o.kind === "Upstream");
  // Nothing to judge (a Secret alone, a scalar): a usage error, not a verdict.
  if (objects.length === 0) throw new ManifestProblem(`${named}: holds no Upstream manifest`, 2);
  return objects.map((o) => {
    const meta = isObject(o.metadata) ? o.metadata : {};
    return { ...o, metadata: { namespace: "default", ...meta } };
  });
}

async function clusterObject(options: CheckOptions, api: ReturnType<typeof createKubeUpstreamApi>): Promise<JsonObject[]> {
  if (options.namespace === undefined || options.name === undefined) throw new CredbrokerError("InvalidSpec", "give -f upstream.yaml, or --namespace and --name of an upstream in the cluster");
  const obj = await api.get(options.namespace, options.name);
  if (obj === undefined) throw new CredbrokerError("InvalidSpec", `upstream ${shownName(options.namespace)}/${shownName(options.name)} not found`);
  return [obj];
}

/**
 * Checks each upstream of the file (or the one named) and prints the reports. I/O. Resolves with
 * the exit code (the worst verdict); a manifest that cannot be checked is one line on `err`.
 */
export async function checkCommand(config: Config, options: CheckOptions): Promise<number> {
  // The manifest first: a file that does not parse is answered without any cluster or cloud.
  let fromFile: JsonObject[] | undefined;
  if (options.file !== undefined) {
    try {
      fromFile = await manifestObjects(options.file);
    } catch (err) {
      if (!(err instanceof ManifestProblem)) throw err;
      (options.err ?? process.stderr).write(`${terminalLine(`credbroker: ${err.message}`)}\n`);
      return err.exitCode;
    }
  }
  const redactor = new Redactor();
  // Logs go to stderr (warnings and worse by default) so stdout holds only the report.
  const logger = createLogger({ level: config.log.level === "info" ? "warn" : config.log.level, destination: process.stderr }, redactor);
  const metrics = new Metrics();
  const kc = asSettingFailure("kubernetes.kubeconfig/kubernetes.context", "the Kubernetes client cannot be configured", () => loadKubeConfig(config));
  const reports: CheckReport[] = [];
  try {
    const settings = controllerSettings(config);
    const api = createKubeUpstreamApi(kc, { requestTimeoutMs: config.kubernetes.requestTimeoutMs });
    const objects = fromFile ?? (await clusterObject(options, api));
    const secrets = await buildSecrets(config, kc, { logger, metrics, redactor });
    const cloud = await buildCloud(config, { metrics }).catch((err: unknown) => {
      throw settingFailure(err, "tls.extraCaFiles", "the cloud clients cannot be configured");
    });
    try {
      await secrets.start();
      for (const obj of objects) reports.push(await checkOne(obj, { api, secrets, cloud, settings, config, discover: options.discover }));
    } finally {
      await secrets.stop();
      cloud.close();
    }
  } finally {
    await kc.closeConnections();
  }
  options.out.write(options.output === "json" ? `${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n` : reports.map(renderTable).join("\n"));
  return Math.max(...reports.map((r) => (r.kind === "other" ? 2 : exitCodeOf(r.state))));
}

interface CheckDeps {
  api: ReturnType<typeof createKubeUpstreamApi>;
  secrets: Awaited<ReturnType<typeof buildSecrets>>;
  cloud: Awaited<ReturnType<typeof buildCloud>>;
  settings: ReturnType<typeof controllerSettings>;
  config: Config;
  discover: boolean;
}

/**
 * Evaluates one upstream as the controller would (every cache bypassed) and computes the state it
 * would publish with the controller's own desiredState, writing nothing. I/O through the ports.
 */
async function checkOne(obj: JsonObject, deps: CheckDeps): Promise<CheckReport> {
  let evaluation: Evaluation;
  let upstreamName = "?";
  let kind = "other";
  let object = obj;
  try {
    const parsed = parseUpstream(obj);
    upstreamName = upstreamKey(parsed.meta);
    kind = parsed.kind;
    if (!isCloudUpstream(parsed)) {
      return { upstream: upstreamName, kind, state: "Pending", reason: `${notManagedBecause(parsed)}: nothing to check`, conditions: [] };
    }
    if (deps.discover) {
      parsed.meta.annotations = { ...parsed.meta.annotations, "discovery.solo.io/function_discovery": "enabled" };
      object = { ...obj, metadata: { ...(isObject(obj.metadata) ? obj.metadata : {}), annotations: parsed.meta.annotations } };
    }
    const namespaceLabels = await deps.api.namespaceLabels(parsed.meta.namespace).catch(() => ({}));
    evaluation = await evaluate(parsed, parseUpstreamOptions(parsed.meta), {
      secrets: deps.secrets.port,
      providers: deps.cloud.providers,
      settings: { ...deps.settings, discoveryMode: deps.discover ? "blacklist" : deps.settings.discoveryMode },
      namespaceLabels,
      policy: { fresh: true },
    });
  } catch (err) {
    const error = toCredbrokerError(err, "check");
    if (error.reason === "InvalidSpec") {
      // A manifest that does not parse is Rejected (exit 1), naming the field, like the controller would publish.
      upstreamName = objectKey(obj);
      kind = "invalid";
    }
    evaluation = failedEvaluation("SecretResolved", error);
  }
  // As the controller would publish it, but judged afresh: the stored status does not colour the verdict.
  const { status: _stored, ...unstored } = object;
  const desired = desiredState(unstored, evaluation, { ...deps.settings, reportedBy: "credbroker" }, new Date(), { forced: true });
  const report: CheckReport = { upstream: upstreamName, kind, state: desired.entry.state, reason: desired.entry.reason, conditions: desired.outcomes };
  if (desired.entry.details.identity !== undefined) report.identity = desired.entry.details.identity;
  if (desired.functions !== undefined) {
    const { discovered, published, truncated, field, entries } = desired.functions;
    report.functions = { discovered, published, truncated, entries: entries.map((e) => projected(field, e)) };
  }
  return report;
}

function identityText(identity: CheckReport["identity"]): string {
  if (identity === undefined) return "-";
  return describeIdentity(identity);
}

/** A fixed-width table for people; one block per upstream. Pure. */
export function renderTable(report: CheckReport): string {
  const rows: string[][] = [["CONDITION", "STATUS", "REASON", "MESSAGE"], ...report.conditions.map((c) => [c.type, c.status, c.reason, c.message])];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const lines = [
    `UPSTREAM  ${report.upstream} (${report.kind})`,
    `STATE     ${report.state}${report.reason !== "" ? ` — ${report.reason}` : ""}`,
    `IDENTITY  ${identityText(report.identity)}`,
    "",
    ...rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join("  ")),
  ];
  if (report.functions !== undefined) {
    const f = report.functions;
    lines.push("", `FUNCTIONS ${f.discovered} discovered, ${f.published} would be published${f.truncated ? " (list capped)" : ""}`);
    for (const e of f.entries) lines.push(`  ${entryText(e)}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * An entry with only the CRD's fields, the key first: a manifest read with -f is not pruned by an
 * API server, and a stray field in it (a key pasted in the wrong place) must not be printed. Pure.
 */
function projected(field: FunctionListField, entry: object): Record<string, unknown> {
  const e = entry as Record<string, unknown>;
  const names = [field.key, ...field.fields.filter((f) => f !== field.key)];
  return Object.fromEntries(names.filter((n) => e[n] !== undefined).map((n) => [n, e[n]]));
}

/** One function-list entry on a line: its name, then its other values ("orders:v2 → orders:2"). Pure. */
function entryText(entry: Record<string, unknown>): string {
  const [name, ...rest] = Object.values(entry).map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
  return rest.length === 0 ? (name ?? "") : `${name ?? ""} → ${rest.join(":")}`;
}
