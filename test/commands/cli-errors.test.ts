// Every malformed input of the corpus through the command line itself: the lines printed, the exit code, a cap on every line, no secret echoed.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/program.js";
import { MAX_LINE_BYTES } from "../../src/config/terminal-text.js";
import { listSettings } from "../../src/config.js";
import { corpus, fill, LONG, SECRET, type CorpusCase } from "../config/malformed-corpus.js";

const flagOf = new Map(listSettings().map((s) => [s.path, s.flag]));

/** The arguments and environment that put a case's input on the command line. */
function commandLine(c: CorpusCase, dir: string): { args: string[]; env: Record<string, string> } {
  switch (c.source) {
    case "cli":
      for (const [name, text] of Object.entries(c.files ?? {})) writeFileSync(join(dir, name), fill(text, dir));
      return { args: (c.input as string[]).map((a) => fill(a, dir)), env: Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [fill(k, dir), fill(v, dir)])) };
    case "file":
      writeFileSync(join(dir, "test.yaml"), fill(c.input as string, dir));
      return { args: ["check", "--config", join(dir, "test.yaml")], env: {} };
    case "env":
      return { args: ["check"], env: Object.fromEntries(Object.entries(c.input as Record<string, string>).map(([k, v]) => [k, fill(v, dir)])) };
    case "flags":
      return { args: ["check", ...Object.entries(c.input as Record<string, unknown>).flatMap(([path, v]) => [flagOf.get(path) ?? `--${path}`, String(v)])], env: {} };
  }
}

/** An expected line with the case's placeholders filled, test.yaml standing for the --config file. */
function expected(line: string, c: CorpusCase, dir: string): string {
  const filled = fill(line, dir);
  return c.source === "file" ? filled.replaceAll("config file test.yaml", `config file ${join(dir, "test.yaml")}`) : filled;
}

describe("the command line on malformed input", () => {
  let output = "";
  beforeEach(() => {
    output = "";
    const capture = (chunk: string | Uint8Array): boolean => {
      output += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      return true;
    };
    vi.spyOn(process.stderr, "write").mockImplementation(capture);
    vi.spyOn(process.stdout, "write").mockImplementation(capture);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  const cases = corpus.filter((c) => c.cli !== false);
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const dir = mkdtempSync(join(tmpdir(), "credbroker-cli-"));
    mkdirSync(dir, { recursive: true });
    const { args, env } = commandLine(c, dir);
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    const code = await main(["node", "credbroker", ...args]);
    vi.restoreAllMocks();

    expect(code, output).toBe(c.expect.exit ?? 2);
    const lines = output.split("\n").filter((l) => l !== "");
    expect(lines.length, output).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line.startsWith("credbroker: "), line).toBe(true);
      expect(Buffer.byteLength(line, "utf8")).toBeLessThanOrEqual(MAX_LINE_BYTES);
    }
    const said = lines.map((l) => l.slice("credbroker: ".length));
    // A buildConfig case's line comes first; the CLI may add what only it checks (files the settings name).
    if (c.expect.line !== undefined) expect(c.source === "cli" ? said : said.slice(0, 1)).toEqual([expected(c.expect.line, c, dir)]);
    if (c.expect.lines !== undefined) expect(said).toEqual(c.expect.lines.map((l) => expected(l, c, dir)));
    if (c.expect.setting !== undefined) expect(said[0]).toMatch(new RegExp(`^setting ${c.expect.setting.replace(".", "\\.")} \\(`));
    if (c.expect.contains !== undefined) expect(said[0]).toContain(expected(c.expect.contains, c, dir));
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain(LONG.slice(0, 200));
  });

  it("prints the usage, not an error line, for no command at all, and exits 2", async () => {
    expect(await main(["node", "credbroker"])).toBe(2);
    expect(output).toContain("Usage: credbroker");
  });

  it("prints package.json's version for --version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(await main(["node", "credbroker", "--version"])).toBe(0);
    expect(output.trim()).toBe(version);
  });

  it.each([["check", "--help"], ["help", "check"]])("exits 0 for credbroker %s %s", async (...args) => {
    expect(await main(["node", "credbroker", ...args])).toBe(0);
    expect(output).toContain("Usage: credbroker check");
  });
});
