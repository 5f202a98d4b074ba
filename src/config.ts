// The settings, merged from defaults, --config file, CREDBROKER_* environment and flags, with every problem reported at once.
import { readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { closestName, shownName } from "./config/terminal-text.js";
import { combinationProblems, type AssessedSettings, type SettingOrigin } from "./config/rules.js";
import { configSchema, listSettings, type Config } from "./config/schema.js";
import { fileProblem, settingFileProblems } from "./config/setting-files.js";

export { configSchema, listSettings, type Config, type SettingInfo } from "./config/schema.js";
export { isLoopback, type AssessedSettings, type SettingOrigin } from "./config/rules.js";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** Settings that may not come from the environment, so no variable can silently weaken TLS. */
const NOT_FROM_ENV = new Set(["vault.insecureSkipVerify"]);

/** Aliases a YAML document may expand; a billion-laughs document fails at once instead of filling memory. */
export const MAX_YAML_ALIASES = 100;

function originLabel(origin: SettingOrigin): string {
  return origin.kind === "file" ? `config file ${shownName(origin.file)}` : origin.name;
}

function setPath(target: Record<string, Record<string, unknown>>, path: string, value: unknown): void {
  const [sectionName = "", key = ""] = path.split(".");
  (target[sectionName] ??= {})[key] = value;
}

function deletePath(target: Record<string, Record<string, unknown>>, path: string): void {
  const [sectionName = "", key = ""] = path.split(".");
  const section = target[sectionName];
  if (section !== undefined) delete section[key];
}

export interface ConfigSources {
  /** Text of the --config file (YAML or JSON) and its name for messages. */
  file?: { name: string; text: string };
  env?: NodeJS.ProcessEnv;
  /** Setting path → value given as a flag. */
  flags?: Record<string, unknown>;
}

const didYouMean = (name: string, candidates: readonly string[]): string => {
  const closest = closestName(name, candidates);
  return closest === undefined ? "" : ` (did you mean ${closest}?)`;
};

/**
 * Parses a config file's text. Every scalar is read as a string (the failsafe schema), so a value
 * in the file meets the same checks as one from a variable or a flag (`port: 0x1F90` is not 8080).
 * Returns the document, or the one problem that makes it unusable, naming the file. Pure.
 */
function parseConfigText(file: { name: string; text: string }): { doc: unknown } | { problem: string } {
  const name = `config file ${shownName(file.name)}`;
  try {
    return { doc: parseYaml(file.text, { schema: "failsafe", maxAliasCount: MAX_YAML_ALIASES, logLevel: "error" }) };
  } catch (err) {
    // Only the position is repeated: yaml's own message quotes the text, which may hold a secret.
    if (err instanceof YAMLParseError) {
      const at = err.linePos?.[0];
      return { problem: `${name}: not valid YAML or JSON${at !== undefined ? ` (line ${at.line}, column ${at.col})` : ""}` };
    }
    if (err instanceof ReferenceError) return { problem: `${name}: more than ${MAX_YAML_ALIASES} YAML aliases to expand (an alias bomb?); not read` };
    return { problem: `${name}: not valid YAML or JSON` };
  }
}

/**
 * Assesses every source in one pass: unknown names, each setting against its schema, then the
 * combination rules on whatever is valid. Returns the settings and every problem found, one line
 * each, naming the setting as its source wrote it (variable, flag or config file). No I/O.
 */
export function assessConfig(sources: ConfigSources): { settings: AssessedSettings; problems: string[] } {
  const problems: string[] = [];
  const known = listSettings();
  const byPath = new Map(known.map((s) => [s.path, s]));
  const byEnv = new Map(known.map((s) => [s.env, s]));
  const raw: Record<string, Record<string, unknown>> = {};
  const origins = new Map<string, SettingOrigin>();
  const supply = (path: string, value: unknown, origin: SettingOrigin): void => {
    setPath(raw, path, value);
    origins.set(path, origin);
  };

  if (sources.file) {
    const parsed = parseConfigText(sources.file);
    const doc = "doc" in parsed ? parsed.doc : undefined;
    const fileLabel = `config file ${shownName(sources.file.name)}`;
    if ("problem" in parsed) problems.push(parsed.problem);
    else if (doc !== null && doc !== undefined && doc !== "") {
      if (typeof doc !== "object" || Array.isArray(doc)) problems.push(`${fileLabel}: must be a mapping of sections`);
      else {
        for (const [sectionName, values] of Object.entries(doc as Record<string, unknown>)) {
          if (typeof values !== "object" || values === null || Array.isArray(values)) {
            problems.push(`setting ${shownName(sectionName)} (${fileLabel}): must be a mapping`);
            continue;
          }
          for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
            const path = `${sectionName}.${key}`;
            if (!byPath.has(path)) problems.push(`setting ${shownName(path)} (${fileLabel}): unknown setting${didYouMean(path, [...byPath.keys()])}`);
            else supply(path, value, { kind: "file", file: sources.file.name });
          }
        }
      }
    }
  }

  for (const [name, value] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith("CREDBROKER_") || value === undefined) continue;
    const info = byEnv.get(name);
    if (!info) problems.push(`${shownName(name)}: unknown setting${didYouMean(name, [...byEnv.keys()])}`);
    else if (NOT_FROM_ENV.has(info.path)) problems.push(`${name}: ${info.path} may only be set in the config file or as a flag`);
    else supply(info.path, value, { kind: "env", name });
  }

  for (const [path, value] of Object.entries(sources.flags ?? {})) {
    const info = byPath.get(path);
    if (!info) problems.push(`setting ${shownName(path)}: unknown setting${didYouMean(path, [...byPath.keys()])}`);
    else supply(path, value, { kind: "flag", name: info.flag });
  }

  const where = (path: string): string => {
    const origin = origins.get(path);
    if (origin !== undefined) return `from ${originLabel(origin)}`;
    const info = byPath.get(path);
    return info ? `${info.env}, ${info.flag}` : "not set";
  };
  const line = (path: string, problem: string): string => `setting ${path} (${where(path)}): ${problem}`;

  const invalid = new Set<string>();
  const first = configSchema.safeParse(raw);
  if (!first.success) {
    for (const issue of first.error.issues) {
      const path = issue.path.slice(0, 2).join(".");
      const item = issue.path.length > 2 ? `item ${issue.path.slice(2).join(".")} ` : "";
      invalid.add(path);
      problems.push(line(path || "(root)", `${item}${issue.message}`));
    }
  }
  // With each invalid value dropped, the rest parses (every leaf has been checked on its own), and
  // the combination rules see what the user gave wherever it was valid.
  for (const path of invalid) deletePath(raw, path);
  const second = first.success ? first : configSchema.safeParse(raw);
  if (!second.success) return { settings: unusable(line), problems };
  const assessed: AssessedSettings = {
    config: second.data,
    invalid,
    isSet: (path) => origins.has(path) && !invalid.has(path),
    line,
    ref: (path) => `${path} (${origins.has(path) ? where(path) : "default"})`,
  };
  problems.push(...combinationProblems(assessed));
  return { settings: assessed, problems };
}

/**
 * Settings that could not be assembled even with every invalid value dropped (each leaf was
 * checked on its own, so this is a guard, not a path taken): every further check is skipped.
 */
function unusable(line: AssessedSettings["line"]): AssessedSettings {
  const config = configSchema.parse({});
  const all = new Set(listSettings().map((s) => s.path));
  return { config, invalid: all, isSet: () => false, line, ref: (path) => path };
}

/**
 * Builds the configuration: defaults < file < environment < flags. Throws ConfigError listing
 * every problem, one line each, naming the setting and the expected form. No I/O.
 */
export function buildConfig(sources: ConfigSources): Config {
  const { settings, problems } = assessConfig(sources);
  if (problems.length > 0) throw new ConfigError(problems);
  return settings.config;
}

/**
 * Reads the config file (if named) and the environment (process.env unless given), builds the
 * configuration, and checks that every file a setting names can be read (and holds what it
 * should: a certificate, a kubeconfig with the named context). I/O. Throws ConfigError listing
 * every problem of every kind at once.
 */
export function loadConfig(options: { configFile?: string; flags?: Record<string, unknown>; env?: NodeJS.ProcessEnv } = {}): Config {
  const sources: ConfigSources = { env: options.env ?? process.env };
  if (options.flags) sources.flags = options.flags;
  if (options.configFile !== undefined) {
    const problem = fileProblem(options.configFile);
    if (problem !== undefined) throw new ConfigError([`config file ${shownName(options.configFile)}: ${problem}`]);
    let text: string;
    try {
      text = readFileSync(options.configFile, "utf8");
    } catch {
      throw new ConfigError([`config file ${shownName(options.configFile)}: cannot be read`]);
    }
    sources.file = { name: options.configFile, text };
  }
  const { settings, problems } = assessConfig(sources);
  problems.push(...settingFileProblems(settings));
  if (problems.length > 0) throw new ConfigError(problems);
  return settings.config;
}

/** Whether the process runs inside a Kubernetes pod (the only other process.env read). */
export function inCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== "";
}
