// The files that settings name (kubeconfig, CA and client certificates, credential files), checked at start so a missing one is named, not a crash.
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { shownName } from "./terminal-text.js";
import type { AssessedSettings } from "./rules.js";
import { CredbrokerError } from "../model/errors.js";

/** Aliases a kubeconfig may expand while its contexts are looked up (kubectl itself has no use for them). */
const MAX_KUBECONFIG_ALIASES = 100;

/**
 * Why `path` cannot be read as a file ("does not exist", "is a directory", "is not readable"),
 * or undefined when it can. I/O (stat and access only; the content is not read).
 */
export function fileProblem(path: string): string | undefined {
  try {
    if (statSync(path).isDirectory()) return "is a directory, not a file";
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "does not exist";
    if (code === "EACCES" || code === "EPERM") return "is not readable (permission denied)";
    return `cannot be read${typeof code === "string" ? ` (${code})` : ""}`;
  }
}

type ContentCheck = (text: string) => string | undefined;

const pemCertificate: ContentCheck = (text) => (text.includes("-----BEGIN CERTIFICATE-----") ? undefined : "holds no PEM certificate");
const pemPrivateKey: ContentCheck = (text) => (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) ? undefined : "holds no PEM private key");

/** A kubeconfig that parses, and holds the context `kubernetes.context` names (if it names one). */
function kubeconfigWith(context: string | undefined): ContentCheck {
  return (text) => {
    let doc: unknown;
    try {
      doc = parseYaml(text, { maxAliasCount: MAX_KUBECONFIG_ALIASES, logLevel: "error" });
    } catch {
      // The parser's message quotes the file, and a kubeconfig holds tokens: only the verdict is said.
      return "is not a valid kubeconfig (not YAML, or too many aliases)";
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "is not a valid kubeconfig (not a mapping)";
    if (context === undefined) return undefined;
    const contexts = (doc as { contexts?: unknown }).contexts;
    const names = Array.isArray(contexts) ? contexts.map((c) => (c as { name?: unknown } | null)?.name) : [];
    return names.includes(context) ? undefined : "has no context of the name kubernetes.context gives";
  };
}

interface NamedFile {
  /** The setting naming the file. */
  path: string;
  /** Index in a list setting (tls.extraCaFiles). */
  item?: number;
  file: string;
  content?: ContentCheck;
  /**
   * The path is not repeated: a credential file setting is where a token pasted by mistake ends
   * up (`--vault-token-file hvs...`), and the message must not print it back.
   */
  credential?: true;
}

/** The files the configuration will read, given which parts are in use. Pure. */
function namedFiles(s: AssessedSettings): NamedFile[] {
  const c = s.config;
  const files: NamedFile[] = [];
  const add = (path: string, file: string | undefined, content?: ContentCheck): void => {
    if (file !== undefined && !s.invalid.has(path)) files.push({ path, file, ...(content ? { content } : {}) });
  };
  const addCredential = (path: string, file: string | undefined): void => {
    if (file !== undefined && !s.invalid.has(path)) files.push({ path, file, credential: true });
  };
  add("kubernetes.kubeconfig", c.kubernetes.kubeconfig, kubeconfigWith(s.invalid.has("kubernetes.context") ? undefined : c.kubernetes.context));
  if (!s.invalid.has("tls.extraCaFiles")) c.tls.extraCaFiles.forEach((file, item) => files.push({ path: "tls.extraCaFiles", item, file, content: pemCertificate }));
  if (c.secrets.sources.includes("vault") && !s.invalid.has("secrets.sources")) {
    add("vault.caFile", c.vault.caFile, pemCertificate);
    add("vault.clientCertFile", c.vault.clientCertFile, pemCertificate);
    add("vault.clientKeyFile", c.vault.clientKeyFile, pemPrivateKey);
    if (!s.invalid.has("vault.authMethod")) {
      if (c.vault.authMethod === "token") addCredential("vault.tokenFile", c.vault.tokenFile);
      if (c.vault.authMethod === "kubernetes") addCredential("vault.jwtFile", c.vault.jwtFile);
      if (c.vault.authMethod === "approle") addCredential("vault.secretIdFile", c.vault.secretIdFile);
    }
  }
  if (c.http.auth === "token-file" && !s.invalid.has("http.auth")) addCredential("http.tokenFile", c.http.tokenFile);
  return files;
}

/**
 * Checks every file the settings name: readable, and holding what it should. One line per
 * problem naming the setting, its source and the file, never the file's content. I/O (reads the files).
 */
export function settingFileProblems(s: AssessedSettings): string[] {
  const problems: string[] = [];
  for (const f of namedFiles(s)) {
    const item = f.item !== undefined ? `item ${f.item}: ` : "";
    const named = f.credential ? `${item}the file it names` : `${item}file ${shownName(f.file)}`;
    const problem = fileProblem(f.file);
    if (problem !== undefined) {
      problems.push(s.line(f.path, `${named} ${problem}`));
      continue;
    }
    if (f.content === undefined) continue;
    let text: string;
    try {
      text = readFileSync(f.file, "utf8");
    } catch {
      problems.push(s.line(f.path, `${named} cannot be read`));
      continue;
    }
    const wrong = f.content(text);
    if (wrong !== undefined) problems.push(s.line(f.path, `${named} ${wrong}`));
  }
  return problems;
}

/**
 * A failure while building clients from settings, as the error the CLI prints: a CredbrokerError
 * passes through; anything else becomes InvalidSetting naming the settings involved and the kind
 * of error only (a library's message may quote a file that holds tokens). Pure.
 */
export function settingFailure(err: unknown, settings: string, what: string): CredbrokerError {
  if (err instanceof CredbrokerError) return err;
  return new CredbrokerError("InvalidSetting", `${settings}: ${what} (${err instanceof Error ? err.name : "unknown error"})`, { cause: err });
}

/** Runs `build`, turning what it throws into settingFailure's error. */
export function asSettingFailure<T>(settings: string, what: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    throw settingFailure(err, settings, what);
  }
}
