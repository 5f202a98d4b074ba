// Loads the bad-input corpus (the YAML files beside this one), expands its shorthands, and runs a case through its parser.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { discoveryDecision, parseUpstreamOptions } from "../../src/model/annotations.js";
import type { SecretMaterialKind } from "../../src/model/credentials.js";
import { parseKubernetesSecret, parseVaultKv1Payload, parseVaultPayload } from "../../src/model/secret-formats.js";
import { parseUpstream } from "../../src/model/upstream.js";

export type Parser = "upstream" | "options" | "kubernetesSecret" | "vaultPayload" | "vaultKv1Payload";

export interface CorpusCase {
  file: string;
  name: string;
  parser: Parser;
  expected?: SecretMaterialKind;
  /** The whole input, after the shorthands below are expanded. */
  input: unknown;
  namespaceLabels: Record<string, string>;
  expect: { reason: string; field: string | null; problem?: string };
  /** Values no output may contain, in any encoding. */
  secrets: string[];
  /** Also run end to end through `credbroker check -f`. */
  check: boolean;
}

interface RawCase {
  name: string;
  parser?: Parser;
  expected?: SecretMaterialKind;
  input?: unknown;
  spec?: unknown;
  metadata?: Record<string, unknown>;
  text?: Record<string, string>;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  namespaceLabels?: Record<string, string>;
  expect: CorpusCase["expect"];
  secrets?: string[];
  check?: boolean;
}

export const CORPUS_FILES = ["upstreams.yaml", "secrets.yaml", "vault.yaml", "annotations.yaml"] as const;

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

function expandInput(raw: RawCase, parser: Parser): unknown {
  if (raw.input !== undefined || Object.hasOwn(raw, "input")) return raw.input;
  if (parser === "upstream" || parser === "options") {
    const metadata = { name: "u1", namespace: "team-a", ...raw.metadata };
    if (raw.annotations !== undefined) Object.assign(metadata, { annotations: raw.annotations });
    if (raw.labels !== undefined) Object.assign(metadata, { labels: raw.labels });
    return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata, spec: raw.spec ?? { aws: { region: "us-east-1" } } };
  }
  if (raw.text !== undefined) {
    return { apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: "team-a" }, type: "Opaque", data: Object.fromEntries(Object.entries(raw.text).map(([k, v]) => [k, b64(v)])) };
  }
  throw new Error(`corpus case "${raw.name}" has no input`);
}

/** Every string value under `input` that holds a fake secret (they contain CORPUS, in any case), and the fake part alone. */
function fakeSecretsIn(input: unknown): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === "string") {
      const decoded = Buffer.from(v, "base64").toString("utf8");
      for (const text of [v, decoded]) {
        if (!/corpus/i.test(text)) continue;
        out.push(text);
        for (const m of text.matchAll(/[A-Za-z0-9]*corpus[A-Za-z0-9]*/gi)) out.push(m[0]);
      }
    } else if (typeof v === "object" && v !== null) Object.values(v).forEach(visit);
  };
  visit(input);
  return out;
}

/** Reads every corpus file. Throws on a file that does not follow the format (a broken corpus must not pass quietly). */
export function loadCorpus(): CorpusCase[] {
  return CORPUS_FILES.flatMap((file) => {
    const doc = parse(readFileSync(new URL(`./${file}`, import.meta.url), "utf8")) as { parser: Parser; cases: RawCase[] };
    return doc.cases.map((raw): CorpusCase => {
      const parser = raw.parser ?? doc.parser;
      const input = expandInput(raw, parser);
      const c: CorpusCase = {
        file,
        name: raw.name,
        parser,
        input,
        namespaceLabels: raw.namespaceLabels ?? {},
        expect: raw.expect,
        secrets: [...(raw.secrets ?? []), ...(parser === "upstream" || parser === "options" ? [] : fakeSecretsIn(input))],
        check: raw.check === true,
      };
      if (raw.expected !== undefined) c.expected = raw.expected;
      return c;
    });
  });
}

/** Runs one case through the parser it names, as the controller would call it. Pure. */
export function runCase(c: CorpusCase): unknown {
  switch (c.parser) {
    case "upstream":
      return parseUpstream(c.input);
    case "options": {
      const { meta } = parseUpstream(c.input);
      const options = parseUpstreamOptions(meta);
      return { options, discovery: discoveryDecision(meta, c.namespaceLabels, "whitelist") };
    }
    case "kubernetesSecret":
      return parseKubernetesSecret(c.input, c.expected);
    case "vaultPayload":
      return parseVaultPayload(c.input, c.expected);
    case "vaultKv1Payload":
      return parseVaultKv1Payload(c.input, c.expected);
  }
}

/** The forms a value may take in output: raw, base64 (standard and URL-safe), URL-encoded, JSON-escaped. */
export function encodedForms(value: string): string[] {
  const forms = [
    value,
    Buffer.from(value, "utf8").toString("base64"),
    Buffer.from(value, "utf8").toString("base64url"),
    urlEncoded(value),
    JSON.stringify(value).slice(1, -1),
  ];
  // Short fragments (a lone "a" of a split value) would match anything; the values themselves are long.
  return [...new Set(forms)].filter((f) => f.length >= 8);
}

// encodeURIComponent refuses an unpaired surrogate; encoding the UTF-8 bytes gives what a URL would carry.
function urlEncoded(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...Buffer.from(value, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
  }
}

/** The first form of a secret found in `text`, or undefined. */
export function leakIn(text: string, secrets: readonly string[]): string | undefined {
  for (const s of secrets) for (const f of encodedForms(s)) if (text.includes(f)) return f;
  return undefined;
}
