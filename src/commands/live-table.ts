// Renders the broker's view of the fleet as a fixed-width table for a terminal. Pure.
import type { UpstreamView } from "../controller/controller.js";
import { shortIdentity } from "../model/cloud-results.js";

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function identityOf(view: UpstreamView): string {
  if (view.identity === undefined) return "";
  return shortIdentity(view.identity);
}

function functionsOf(view: UpstreamView): string {
  const f = view.functions;
  if (f === undefined) return "";
  return `${f.published}/${f.discovered}${f.truncated ? " (capped)" : ""}`;
}

/** The conditions that are not True, as `Type=Reason`, or the state's reason. */
function whyOf(view: UpstreamView): string {
  const notTrue = view.conditions.filter((c) => c.status !== "True").map((c) => `${c.type}=${c.status}:${c.reason}`);
  return notTrue.length > 0 ? notTrue.join(", ") : view.reason;
}

/** One line per upstream, sorted by key, with a header; `width` caps the last column. */
export function renderUpstreamTable(views: readonly UpstreamView[], width = 160): string {
  const rows = [
    ["UPSTREAM", "TYPE", "STATE", "IDENTITY", "FUNCTIONS", "WHY"],
    ...[...views]
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))
      .map((v) => [`${v.namespace}/${v.name}`, v.kind, v.state, identityOf(v), functionsOf(v), whyOf(v)]),
  ];
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const used = widths.reduce((a, b) => a + b + 2, 0);
  return rows.map((r) => r.map((cell, i) => (i < 5 ? cell.padEnd(widths[i] ?? 0) : cut(cell, Math.max(20, width - used)))).join("  ").trimEnd()).join("\n");
}
