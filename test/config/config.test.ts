import { describe, expect, it } from "vitest";
import { buildConfig, ConfigError, listSettings, type ConfigSources } from "../../src/config.js";
import { corpus, fill, SECRET, type CorpusCase } from "./malformed-corpus.js";

type Case = CorpusCase & { source: "file" | "env" | "flags" };
// The cli cases need a command line and files; test/commands/cli-errors.test.ts runs them.
const cases = corpus.filter((c): c is Case => c.source !== "cli");

function sourcesOf(c: Case): ConfigSources {
  switch (c.source) {
    case "file":
      return { file: { name: "test.yaml", text: fill(c.input as string, "/nowhere") } };
    case "env":
      return { env: Object.fromEntries(Object.entries(c.input as Record<string, string>).map(([k, v]) => [k, fill(v, "/nowhere")])) };
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

function problemsOfSources(sources: ConfigSources): string[] {
  try {
    buildConfig(sources);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("configuration", () => {
  it("has a corpus of malformed inputs", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(corpus.length).toBeGreaterThanOrEqual(70);
  });

  it.each(cases.map((c) => [c.name, c] as const))("rejects %s with one line naming the setting", (_name, c) => {
    const problems = problemsOf(c);
    expect(problems).toHaveLength(1);
    const [line] = problems;
    if (c.expect.line !== undefined) expect(line).toBe(c.expect.line);
    if (c.expect.setting !== undefined) expect(line).toMatch(new RegExp(`^setting ${c.expect.setting.replace(".", "\\.")} \\(`));
    if (c.expect.contains !== undefined) expect(line).toContain(c.expect.contains);
    expect(line).not.toContain("\n");
    expect(line).not.toContain(SECRET);
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

  it("reports five bad settings in five lines, combination checks among them, in one pass", () => {
    const problems = problemsOfSources({
      file: { name: "c.yaml", text: "discovery:\n  mode: sometimes\n" },
      env: { CREDBROKER_CONTROLLER_CONCURRENCY: "x", CREDBROKER_LOG_LEVEL: "loud" },
      flags: { "http.port": "0x1F90", "leader.renewDeadlineMs": "20s" },
    });
    expect(problems).toEqual([
      "setting discovery.mode (from config file c.yaml): must be one of whitelist, blacklist, disabled",
      "setting controller.concurrency (from CREDBROKER_CONTROLLER_CONCURRENCY): must be a whole number from 1 to 256, in decimal digits",
      "setting http.port (from --http-port): must be a whole number from 0 to 65535, in decimal digits",
      "setting log.level (from CREDBROKER_LOG_LEVEL): must be one of trace, debug, info, warn, error, fatal, silent",
      "setting leader.renewDeadlineMs (from --leader-renew-deadline-ms): must be shorter than leader.leaseDurationMs (default)",
    ]);
  });

  it("skips a combination check whose settings are invalid themselves (the invalid one is reported once)", () => {
    expect(problemsOfSources({ env: { CREDBROKER_LEADER_RENEW_DEADLINE_MS: "soon" } })).toEqual([
      "setting leader.renewDeadlineMs (from CREDBROKER_LEADER_RENEW_DEADLINE_MS): must be a duration such as 500ms, 30s, 5m or a number of milliseconds (at least 500 ms)",
    ]);
  });

  it("names the source that supplied the bad value: a flag over a variable over the file", () => {
    const file = { name: "c.yaml", text: "http:\n  port: nope\n" };
    expect(problemsOfSources({ file })).toEqual(["setting http.port (from config file c.yaml): must be a whole number from 0 to 65535, in decimal digits"]);
    expect(problemsOfSources({ file, env: { CREDBROKER_HTTP_PORT: "nope" } })[0]).toContain("(from CREDBROKER_HTTP_PORT)");
    expect(problemsOfSources({ file, env: { CREDBROKER_HTTP_PORT: "nope" }, flags: { "http.port": "nope" } })[0]).toContain("(from --http-port)");
  });

  const numeric = listSettings().filter((s) => typeof s.default === "number");
  it.each(numeric.map((s) => [s.path, s] as const))("takes %s in plain decimal digits only, from every source", (_path, s) => {
    // Each of these is a number to Number() (or YAML): hex, binary, octal, exponent, sign, padding, separators.
    for (const bad of ["0x10", "0b1", "0o7", "1e3", "+10", "-1", " 10", "10 ", "10\n", "1_000", "Infinity", ""]) {
      expect(problemsOfSources({ env: { [s.env]: bad } }), JSON.stringify(bad)).toEqual([expect.stringMatching(new RegExp(`^setting ${s.path.replace(".", "\\.")} \\(from ${s.env}\\): `))]);
    }
    const [section = "", key = ""] = s.path.split(".");
    expect(problemsOfSources({ file: { name: "c.yaml", text: `${section}:\n  ${key}: 0x10\n` } })).toHaveLength(1);
    // The default written out in digits is accepted and means the default.
    const config = buildConfig({ env: { [s.env]: String(s.default) } }) as unknown as Record<string, Record<string, unknown>>;
    expect(config[section]?.[key]).toBe(s.default);
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
