// docs/operations.md held to the code: every reason has its troubleshooting section, every metric its row, and the page names no metric, label or reason that does not exist.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REASONS, TRANSIENT_REASONS, isReason } from "../src/model/reasons.js";
import { Metrics } from "../src/observability/metrics.js";

const DOC = readFileSync("docs/operations.md", "utf8");

interface Registered {
  type: string;
  labels: string[];
}

/** Every metric the broker registers, read from a fresh Metrics object (no I/O, nothing started). */
function registeredMetrics(): Map<string, Registered> {
  const out = new Map<string, Registered>();
  for (const metric of new Metrics().registry.getMetricsAsArray()) {
    // prom-client keeps the configured label names on the metric object; its typings do not say so.
    const labels: unknown = Reflect.get(metric, "labelNames");
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === "string")) throw new Error(`${metric.name}: prom-client no longer exposes labelNames`);
    out.set(metric.name, { type: String(metric.type), labels: [...labels] });
  }
  return out;
}

const METRICS = registeredMetrics();

/** The text under a `## title` heading, up to the next heading of level 2. */
function chapter(title: string): string {
  const start = DOC.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`docs/operations.md has no "## ${title}"`);
  const rest = DOC.slice(start + title.length + 5);
  const end = rest.search(/^## /m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Headings of the form `#### \`Name\``: name → the text up to the next heading. */
function reasonSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = text.split(/^(#{2,6} .*)$/m);
  for (let i = 1; i < parts.length; i += 2) {
    const name = /^#{2,6} `([A-Za-z]+)`\s*$/.exec(parts[i] ?? "")?.[1];
    if (name !== undefined) {
      if (out.has(name)) throw new Error(`two sections for ${name}`);
      out.set(name, parts[i + 1] ?? "");
    }
  }
  return out;
}

/** Series names a metric exposes: its own, plus a histogram's _bucket, _sum and _count. */
function seriesOwner(series: string): string | undefined {
  if (METRICS.has(series)) return series;
  const base = series.replace(/_(bucket|sum|count)$/, "");
  return METRICS.get(base)?.type === "histogram" ? base : undefined;
}

/** Every `metric{matchers}` selector on the page: the metric, and each matcher's label and value. */
function selectors(): Array<{ metric: string; series: string; matchers: Array<{ label: string; op: string; value: string }> }> {
  const out = [];
  for (const m of DOC.matchAll(/\b(credbroker_[a-z0-9_]+)\{([^}]*)\}/g)) {
    const series = m[1] ?? "";
    const matchers = [...(m[2] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((x) => ({ label: x[1] ?? "", op: x[2] ?? "", value: x[3] ?? "" }));
    out.push({ metric: seriesOwner(series) ?? series, series, matchers });
  }
  return out;
}

/** The PromQL examples (```promql blocks). */
function promqlBlocks(): string[] {
  return [...DOC.matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

describe("docs/operations.md", () => {
  const sections = reasonSections(chapter("Troubleshooting"));

  it("has one troubleshooting section for every reason the code defines, and none for a reason it does not", () => {
    expect([...sections.keys()].sort()).toEqual([...REASONS].sort());
  });

  it("says 'not a verdict' exactly for the transient reasons, on each section's Effect line", () => {
    for (const reason of REASONS) {
      const effect = /\*\*Effect:\*\*([^\n]*)/.exec(sections.get(reason) ?? "")?.[1];
      expect(effect, `${reason} has no **Effect:** line`).toBeDefined();
      expect(effect?.includes("not a verdict"), `${reason}: ${effect ?? ""}`).toBe(TRANSIENT_REASONS.has(reason));
    }
  });

  it("has a row with the right type and labels for every registered metric, and no row for another", () => {
    const rows = new Map<string, { type: string; labels: string[] }>();
    for (const m of chapter("Metrics").matchAll(/^\| `(credbroker_[a-z0-9_]+)` \| (\w+) \| ([^|]*) \|/gm)) {
      const labels = [...(m[3] ?? "").matchAll(/`([a-z_]+)`/g)].map((l) => l[1] ?? "");
      rows.set(m[1] ?? "", { type: m[2] ?? "", labels });
    }
    expect([...rows.keys()].sort()).toEqual([...METRICS.keys()].sort());
    for (const [name, registered] of METRICS) expect(rows.get(name), name).toEqual(registered);
  });

  it("names no credbroker_ series the broker does not export", () => {
    const named = new Set([...DOC.matchAll(/\bcredbroker_[a-z0-9_]*[a-z0-9]\b/g)].map((m) => m[0]));
    expect(named.size).toBeGreaterThan(METRICS.size);
    expect([...named].filter((series) => seriesOwner(series) === undefined)).toEqual([]);
  });

  it("uses in its selectors only labels the metric has, and only reasons the code defines as reason values", () => {
    const wrong: string[] = [];
    const found = selectors();
    expect(found.length).toBeGreaterThan(10);
    for (const { metric, series, matchers } of found) {
      const labels = METRICS.get(metric)?.labels ?? [];
      for (const { label, op, value } of matchers) {
        const le = label === "le" && series.endsWith("_bucket");
        if (!labels.includes(label) && !le) wrong.push(`${series}: no label ${label}`);
        const reasonLabel = (label === "reason" && metric !== "credbroker_http_refusals_total") || (label === "result" && metric === "credbroker_provider_calls_total");
        if (reasonLabel && (op === "=" || op === "=~")) {
          for (const v of value.split("|")) if (!isReason(v) && v !== "ok") wrong.push(`${series}: ${label}="${v}" is not a reason`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("groups PromQL only by labels of the metrics in the same expression", () => {
    const wrong: string[] = [];
    for (const block of promqlBlocks()) {
      const metrics = [...block.matchAll(/\b(credbroker_[a-z0-9_]+)/g)].map((m) => seriesOwner(m[1] ?? "")).filter((m) => m !== undefined);
      const known = new Set(["le", ...metrics.flatMap((m) => METRICS.get(m)?.labels ?? [])]);
      if (/\bup\{/.test(block)) known.add("job");
      for (const g of block.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)) {
        for (const label of (g[1] ?? "").split(",").map((l) => l.trim()).filter((l) => l !== "")) if (!known.has(label)) wrong.push(`${label} in: ${block.trim()}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("alerts on every transient reason a status can carry when upstreams cannot be verified", () => {
    const alert = selectors().find((s) => s.metric === "credbroker_upstream_state" && s.matchers.some((m) => m.label === "reason" && m.op === "=~"));
    const listed = alert?.matchers.find((m) => m.label === "reason")?.value.split("|") ?? [];
    // NotLeader ends a pass without writing, so no status ever carries it.
    const expected = [...TRANSIENT_REASONS].filter((r) => r !== "NotLeader");
    expect(listed.sort()).toEqual(expected.sort());
  });

  it("names only repository files that exist", () => {
    const paths = [...new Set([...DOC.matchAll(/`((?:src|test|deploy|policies)\/[^`\s<>*]+)`/g)].map((m) => m[1] ?? ""))];
    expect(paths.length).toBeGreaterThan(3);
    expect(paths.filter((p) => !existsSync(p))).toEqual([]);
  });

  it("links only to headings that exist on the page", () => {
    const anchors = new Set([...DOC.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] ?? "")));
    const targets = [...DOC.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] ?? "");
    expect(targets.length).toBeGreaterThan(5);
    expect(targets.filter((t) => !anchors.has(t))).toEqual([]);
  });
});
