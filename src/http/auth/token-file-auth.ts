// API authentication by a static token file for local use: one token a line, optionally scoped to namespaces, re-read when it changes.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile as fsReadFile, stat as fsStat } from "node:fs/promises";
import type { Logger } from "pino";
import { UPSTREAM_GROUP, UPSTREAM_PLURAL } from "../../model/upstream.js";
import type { Clock } from "../../runtime/clock.js";
import type { Access, ApiAuth, Authentication, Authorization, Caller } from "./api-auth.js";

/** One accepted token: only its sha256 is kept, never the token. */
export interface TokenFileEntry {
  /** 1-based line number in the file: the caller's identity. */
  line: number;
  digest: Buffer;
  /** The namespaces it may act in; undefined: unscoped (every namespace and cluster-wide). */
  namespaces: readonly string[] | undefined;
}

export interface TokenFileAuthOptions {
  path: string;
  clock: Pick<Clock, "monotonicNow">;
  /** Reads the file as UTF-8 (default: node:fs/promises). */
  readFile?: (path: string) => Promise<string>;
  /** Its modification time and size, to notice a change cheaply (default: node:fs/promises). */
  stat?: (path: string) => Promise<{ mtimeMs: number; size: number }>;
  logger?: Pick<Logger, "warn" | "info">;
}

/** The file is looked at no more often than this, however many requests arrive. */
export const RECHECK_INTERVAL_MS = 1_000;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Visible ASCII: what an `Authorization: Bearer` header can carry whole. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Parses a token file. Pure (hashing only). Blank lines and lines starting with `#` are skipped; a
 * line is `<token>` or `<token> <ns1>,<ns2>,...` (whitespace-separated, namespaces DNS labels).
 * Throws an Error naming `source` and the line number, never the line's content, when a line is
 * malformed or repeats an earlier token.
 */
export function parseTokenFile(text: string, source: string): TokenFileEntry[] {
  const entries: TokenFileEntry[] = [];
  const seen = new Map<string, number>();
  const lines = text.split("\n");
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const content = raw.trim();
    if (content === "" || content.startsWith("#")) continue;
    const fail = (why: string): never => {
      throw new Error(`token file ${source} line ${line}: ${why}`);
    };
    const [token = "", scope, ...rest] = content.split(/\s+/);
    if (rest.length > 0) fail('expected "<token>" or "<token> <namespace>,<namespace>,..."');
    if (!TOKEN_CHARS.test(token)) fail("the token holds characters a bearer token cannot carry (visible ASCII only)");
    let namespaces: string[] | undefined;
    if (scope !== undefined) {
      namespaces = scope.split(",");
      for (const [i, ns] of namespaces.entries()) if (!DNS_LABEL.test(ns)) fail(`namespace ${i + 1} of the scope is not a DNS label`);
      namespaces = [...new Set(namespaces)];
    }
    const digest = sha256(token);
    const earlier = seen.get(digest.toString("hex"));
    if (earlier !== undefined) fail(`repeats the token of line ${earlier}`);
    seen.set(digest.toString("hex"), line);
    entries.push({ line, digest, namespaces });
  }
  return entries;
}

function display(line: number): string {
  return `token-file line ${line}`;
}

function quoted(namespaces: readonly string[]): string {
  return namespaces.map((ns) => `"${ns}"`).join(", ");
}

/** The scope check of one entry. Pure. */
function decide(entry: TokenFileEntry, access: Access): Authorization {
  const scope = entry.namespaces;
  if (scope === undefined) return { allowed: true };
  const what = `${access.verb} ${UPSTREAM_PLURAL}.${UPSTREAM_GROUP}`;
  if (access.namespace === undefined) return { allowed: false, message: `${display(entry.line)} is scoped to namespaces ${quoted(scope)} and may not ${what} cluster-wide` };
  if (scope.includes(access.namespace)) return { allowed: true };
  return { allowed: false, message: `${display(entry.line)} may not ${what} in namespace "${access.namespace}": it is scoped to namespaces ${quoted(scope)}` };
}

/**
 * The token-file method. Reads and parses the file at start: rejects with an Error naming the path
 * when it cannot be read, or the file and line when a line is malformed. Afterwards `authenticate`
 * looks at the file's mtime and size at most once per RECHECK_INTERVAL_MS and re-reads it when they
 * changed; a failed re-read keeps the tokens it had (and warns once per failure streak). Never throws
 * for a caller. Caller ids are `token-file:<line>`.
 */
export async function createTokenFileAuth(options: TokenFileAuthOptions): Promise<ApiAuth> {
  const { path, clock, logger } = options;
  const read = options.readFile ?? ((p: string) => fsReadFile(p, "utf8"));
  const stat = options.stat ?? (async (p: string) => await fsStat(p));

  let version: { mtimeMs: number; size: number };
  let text: string;
  try {
    version = await stat(path);
    text = await read(path);
  } catch (err) {
    throw new Error(`cannot read the token file ${path}`, { cause: err });
  }
  let entries = parseTokenFile(text, path);
  if (entries.length === 0) logger?.warn({ file: path }, "the token file holds no tokens: every API call will be refused");

  const index = (list: TokenFileEntry[]): Map<string, TokenFileEntry> => new Map(list.map((e) => [e.digest.toString("hex"), e]));
  let byDigest = index(entries);
  let lastCheckMs = clock.monotonicNow();
  let checking: Promise<void> | undefined;
  let warned = false;
  // Which entry authenticated a caller: by object, so a re-read in between cannot change its scope.
  const scopes = new WeakMap<Caller, TokenFileEntry>();

  async function reload(): Promise<void> {
    try {
      const now = await stat(path);
      if (now.mtimeMs === version.mtimeMs && now.size === version.size) return;
      const fresh = parseTokenFile(await read(path), path);
      entries = fresh;
      byDigest = index(fresh);
      version = { mtimeMs: now.mtimeMs, size: now.size };
      warned = false;
      logger?.info({ file: path, tokens: fresh.length }, "token file re-read");
    } catch (err) {
      if (warned) return;
      warned = true;
      // The parser's messages name the file and line only; a filesystem error names the path.
      const why = err instanceof Error && err.message.startsWith("token file ") ? err.message : `cannot read the token file ${path}`;
      logger?.warn({ file: path, error: why }, "the token file could not be re-read: keeping the tokens read before");
    }
  }

  function recheck(): Promise<void> {
    if (checking !== undefined) return checking;
    if (clock.monotonicNow() - lastCheckMs < RECHECK_INTERVAL_MS) return Promise.resolve();
    lastCheckMs = clock.monotonicNow();
    checking = reload().finally(() => {
      checking = undefined;
    });
    return checking;
  }

  return {
    async authenticate(token): Promise<Authentication> {
      if (token === undefined || token === "") return { ok: false, message: "a bearer token is required" };
      await recheck();
      const digest = sha256(token);
      const entry = byDigest.get(digest.toString("hex"));
      // The map finds the candidate; the constant-time compare is what accepts it.
      if (entry === undefined || !timingSafeEqual(entry.digest, digest)) return { ok: false, message: "the token is not valid for this API" };
      const caller: Caller = { id: `token-file:${entry.line}`, display: display(entry.line) };
      scopes.set(caller, entry);
      return { ok: true, caller };
    },

    authorize(caller, access): Promise<Authorization> {
      const entry = scopes.get(caller) ?? entries.find((e) => `token-file:${e.line}` === caller.id);
      if (entry === undefined) return Promise.resolve({ allowed: false, message: `${caller.display} is no longer in the token file` });
      return Promise.resolve(decide(entry, access));
    },
  };
}
