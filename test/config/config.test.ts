import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildConfig, ConfigError, listSettings, type ConfigSources } from "../../src/config.js";

interface Case {
  name: string;
  source: "file" | "env" | "flags";
  input: unknown;
  expect: { line?: string; setting?: string; contains?: string };
}

const cases = parse(readFileSync(new URL("./malformed-configs.yaml", import.meta.url), "utf8")) as Case[];

function sourcesOf(c: Case): ConfigSources {
  switch (c.source) {
    case "file":
      return { file: { name: "test.yaml", text: c.input as string } };
    case "env":
      return { env: c.input as Record<string, string> };
    case "flags":
      return { flags: c.input as Record<string, unknown> };
  }
}

function problemsOf(c: Case): string[] {
  try {
    buildConfig(sourcesOf(c));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`case "${c.name}" was accepted`);
}

describe("configuration", () => {
  it("has a corpus of malformed inputs", () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases.map((c) => [c.name, c] as const))("rejects %s with one line naming the setting", (_name, c) => {
    const problems = problemsOf(c);
    expect(problems).toHaveLength(1);
    const [line] = problems;
    if (c.expect.line !== undefined) expect(line).toBe(c.expect.line);
    if (c.expect.setting !== undefined) expect(line).toMatch(new RegExp(`^setting ${c.expect.setting.replace(".", "\\.")} \\(`));
    if (c.expect.contains !== undefined) expect(line).toContain(c.expect.contains);
    expect(line).not.toContain("\n");
  });

  it("reports every bad setting at once", () => {
    try {
      buildConfig({ env: { CREDBROKER_CONTROLLER_CONCURRENCY: "x", CREDBROKER_DISCOVERY_MODE: "y", CREDBROKER_NOPE: "1" } });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.split(/[ :]/)[0] === "setting" ? p.split(" ")[1] : p.split(":")[0]).sort()).toEqual(
        ["CREDBROKER_NOPE", "controller.concurrency", "discovery.mode"].sort(),
      );
    }
  });

  it("applies defaults < file < environment < flags", () => {
    const file = { name: "c.yaml", text: "controller:\n  concurrency: 3\n  verifyIntervalMs: 2m\ndiscovery:\n  maxFunctions: 100\n" };
    const onlyFile = buildConfig({ file });
    expect(onlyFile.controller.concurrency).toBe(3);
    expect(onlyFile.controller.verifyIntervalMs).toBe(120_000);
    expect(onlyFile.discovery.maxFunctions).toBe(100);
    expect(onlyFile.discovery.mode).toBe("whitelist");
    const withEnv = buildConfig({ file, env: { CREDBROKER_CONTROLLER_CONCURRENCY: "5", PATH: "/bin" } });
    expect(withEnv.controller.concurrency).toBe(5);
    const withFlags = buildConfig({ file, env: { CREDBROKER_CONTROLLER_CONCURRENCY: "5" }, flags: { "controller.concurrency": "7" } });
    expect(withFlags.controller.concurrency).toBe(7);
  });

  it("parses lists, booleans and durations from strings", () => {
    const c = buildConfig({
      env: {
        CREDBROKER_KUBERNETES_NAMESPACES: "team-a, team-b",
        CREDBROKER_AWS_ALLOW_AMBIENT_CREDENTIALS: "yes",
        CREDBROKER_CONTROLLER_BACKOFF_MAX_MS: "1.5m",
      },
    });
    expect(c.kubernetes.namespaces).toEqual(["team-a", "team-b"]);
    expect(c.aws.allowAmbientCredentials).toBe(true);
    expect(c.controller.backoffMaxMs).toBe(90_000);
  });

  it("allows insecure Vault TLS only when asked for in the file or a flag", () => {
    expect(buildConfig({ file: { name: "c.yaml", text: "vault:\n  insecureSkipVerify: true\n" } }).vault.insecureSkipVerify).toBe(true);
    expect(buildConfig({}).vault.insecureSkipVerify).toBe(false);
  });

  it("names an environment variable and a flag for every setting", () => {
    const settings = listSettings();
    expect(settings.length).toBeGreaterThan(40);
    for (const s of settings) {
      expect(s.env).toMatch(/^CREDBROKER_[A-Z0-9_]+$/);
      expect(s.flag).toMatch(/^--[a-z0-9-]+$/);
      expect(s.description.length).toBeGreaterThan(5);
    }
    expect(new Set(settings.map((s) => s.env)).size).toBe(settings.length);
  });
});
