// What `credbroker demo` prints besides the live table: the "poke it" guide and the `--once` report. Pure.
import type { UpstreamView } from "../controller/controller.js";
import { renderUpstreamTable } from "./live-table.js";

/** The upstream the guide's reverify example names: in the sample fleet, with discovery, Accepted. */
export const GUIDE_REVERIFY_TARGET = { namespace: "team-orders", name: "orders-lambda" } as const;

/** The Secret the guide's rotation manifests replace, and the upstream that uses it (src/sandbox/sample-seed.ts). */
export const GUIDE_ROTATED_SECRET = { namespace: "team-orders", name: "aws-wrong", upstream: "orders-wrong-key" } as const;

export interface GuidePaths {
  /** The sandbox's cluster-admin kubeconfig. */
  kubeconfig: string;
  /** Where the broker serves the API and /metrics, e.g. `http://127.0.0.1:40123`. */
  brokerUrl: string;
  /** The file holding the demo's API token; the guide reads it with `$(cat …)`, never holds the token. */
  tokenFile: string;
  /** A Secret manifest giving GUIDE_ROTATED_SECRET a key AWS refuses. */
  brokenManifest: string;
  /** The same Secret with the right key. */
  fixedManifest: string;
}

/**
 * One word for a POSIX shell: as it is when it holds only characters no shell treats specially,
 * otherwise in single quotes (an inner `'` as `'\''`). Pure.
 */
export function shellWord(text: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The commands that poke the running demo broker, one per line, ready to paste into a POSIX
 * shell: every path quoted, and the token read from its file at run time so it is never on screen.
 */
export function renderPokeGuide(paths: GuidePaths): string {
  const kubectl = `kubectl --kubeconfig ${shellWord(paths.kubeconfig)}`;
  // Inside "$(…)" the shell quotes afresh, so a single-quoted path stays one word there too.
  const bearer = `-H "Authorization: Bearer $(cat ${shellWord(paths.tokenFile)})"`;
  const url = (route: string): string => shellWord(`${paths.brokerUrl}${route}`);
  const body = JSON.stringify({ ...GUIDE_REVERIFY_TARGET, wait: true });
  const { namespace, name, upstream } = GUIDE_ROTATED_SECRET;
  return [
    "Poke it while it runs (the API token stays in its file; nothing below prints it):",
    `  ${kubectl} get upstreams -A`,
    `  curl -s -X POST ${url("/v1/reverify")} ${bearer} -H 'Content-Type: application/json' -d ${shellWord(body)}`,
    `  curl -s ${url("/v1/upstreams")} ${bearer}`,
    // replace, not apply: apply would copy the key into the last-applied annotation, which metadata
    // watches (the broker's among them) receive. --validate=false: the sandbox serves no OpenAPI document.
    `Rotate ${namespace}/${name}, the secret of ${upstream}, from ready-made manifests (kubectl prints only the object's name):`,
    `  ${kubectl} replace --validate=false -f ${shellWord(paths.brokenManifest)}   # a key AWS refuses: ${upstream} turns Rejected (Authenticated=False:InvalidSecretKey)`,
    `  ${kubectl} replace --validate=false -f ${shellWord(paths.fixedManifest)}   # the right key: ${upstream} turns Accepted again`,
  ].join("\n");
}

/** An upstream as the API shows it: the controller's view with `type` for `kind`. */
export interface ReportedUpstream extends Omit<UpstreamView, "kind"> {
  type: string;
}

function reported(view: UpstreamView): ReportedUpstream {
  const { kind, namespace, name, state, reason, conditions, ...optional } = view;
  return { namespace, name, type: kind, state, reason, conditions, ...optional };
}

/**
 * The final states `demo --once` prints: one JSON document `{"upstreams": [...]}` sorted by
 * namespace and name, or the live table's layout; ends with a newline. Pure.
 */
export function renderOnceReport(views: readonly UpstreamView[], output: "table" | "json", width = 160): string {
  if (output === "table") return `${renderUpstreamTable(views, width)}\n`;
  const upstreams = [...views].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)).map(reported);
  return `${JSON.stringify({ upstreams }, null, 2)}\n`;
}
