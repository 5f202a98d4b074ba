// Runs the bad-input corpus through the pure parsers: each case fails with its reason and field, a bounded message, and no secret in it.
import { describe, expect, it } from "vitest";
import { CredbrokerError, MAX_ERROR_MESSAGE_BYTES } from "../../src/model/errors.js";
import { isReason } from "../../src/model/reasons.js";
import { leakIn, loadCorpus, runCase, type CorpusCase } from "./corpus.js";

const corpus = loadCorpus();

function failureOf(c: CorpusCase): unknown {
  try {
    runCase(c);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("bad-input corpus", () => {
  it("holds at least 150 cases with unique names, from every kind of input", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(150);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
    const perParser = new Map<string, number>();
    for (const c of corpus) perParser.set(c.parser, (perParser.get(c.parser) ?? 0) + 1);
    for (const parser of ["upstream", "options", "kubernetesSecret", "vaultPayload", "vaultKv1Payload"]) expect(perParser.get(parser) ?? 0).toBeGreaterThan(0);
  });

  it("knows the secret values of every secret case, so the leak check below can fail", () => {
    for (const c of corpus.filter((c) => c.parser !== "upstream" && c.parser !== "options" && JSON.stringify(c.input ?? null).match(/corpus/i))) {
      expect(c.secrets.length, c.name).toBeGreaterThan(0);
    }
    expect(leakIn("x AKIACORPUSKEY0000001 y", ["AKIACORPUSKEY0000001"])).toBeDefined();
    expect(leakIn(`x ${Buffer.from("corpusSecret\n").toString("base64")}`, ["corpusSecret\n"])).toBeDefined();
    expect(leakIn("x corpusSecret\\n", ["corpusSecret\n"])).toBeDefined();
    expect(leakIn("x corpusSecret%0A", ["corpusSecret\n"])).toBeDefined();
  });

  describe.each(["upstreams.yaml", "secrets.yaml", "vault.yaml", "annotations.yaml"])("%s", (file) => {
    it.each(corpus.filter((c) => c.file === file).map((c) => [c.name, c] as const))("%s", (_name, c) => {
      const caught = failureOf(c);
      expect(caught, "must fail with a CredbrokerError, never another throw or a parsed value").toBeInstanceOf(CredbrokerError);
      const err = caught as CredbrokerError;
      expect(isReason(err.reason)).toBe(true);
      expect({ reason: err.reason, field: err.field ?? null }).toEqual({ reason: c.expect.reason, field: c.expect.field });
      if (c.expect.problem !== undefined) expect(err.message).toBe(`${c.expect.field ?? ""}: ${c.expect.problem}`);
      expect(Buffer.byteLength(err.message, "utf8")).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
      expect(leakIn(err.message, c.secrets), "message must not contain a secret value").toBeUndefined();
      expect(leakIn(err.field ?? "", c.secrets), "field must not contain a secret value").toBeUndefined();
    });
  });
});
