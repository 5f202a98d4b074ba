// Runs the corpus of malformed upstreams, annotations and secrets: each must fail with its exact reason and field path.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseUpstreamOptions } from "../../src/model/annotations.js";
import type { SecretMaterialKind } from "../../src/model/credentials.js";
import { CredbrokerError } from "../../src/model/errors.js";
import { parseKubernetesSecret, parseVaultKv1Payload, parseVaultPayload } from "../../src/model/secret-formats.js";
import { parseUpstream } from "../../src/model/upstream.js";

interface CorpusCase {
  name: string;
  kind: "upstream" | "annotations" | "kubernetesSecret" | "vaultPayload" | "vaultKv1Payload";
  expected?: SecretMaterialKind;
  input: unknown;
  expect: { reason: string; field: string | null };
}

const corpus = parse(readFileSync(new URL("./corpus/malformed.yaml", import.meta.url), "utf8")) as CorpusCase[];

function run(c: CorpusCase): unknown {
  switch (c.kind) {
    case "upstream":
      return parseUpstream(c.input);
    case "annotations":
      return parseUpstreamOptions(parseUpstream(c.input).meta);
    case "kubernetesSecret":
      return parseKubernetesSecret(c.input, c.expected);
    case "vaultPayload":
      return parseVaultPayload(c.input, c.expected);
    case "vaultKv1Payload":
      return parseVaultKv1Payload(c.input, c.expected);
  }
}

/** Fake secret values in the corpus are marked by these prefixes; base64 forms are decoded first. */
function secretValuesIn(input: unknown): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === "string") {
      for (const text of [v, Buffer.from(v, "base64").toString("latin1")]) {
        for (const m of text.matchAll(/(corpus[A-Za-z0-9]+|AKIACORPUS[A-Z0-9]+)/g)) out.push(m[1]!);
      }
    } else if (typeof v === "object" && v !== null) Object.values(v).forEach(visit);
  };
  visit(input);
  return out;
}

describe("malformed input corpus", () => {
  it("holds at least 40 cases with unique names", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
  });

  it.each(corpus.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    let caught: unknown;
    try {
      run(c);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CredbrokerError);
    const err = caught as CredbrokerError;
    expect({ reason: err.reason, field: err.field ?? null }).toEqual(c.expect);
    for (const value of secretValuesIn(c.input)) expect(err.message).not.toContain(value);
  });
});
