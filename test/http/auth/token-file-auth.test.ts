// The token-file method: the parser, scoped and unscoped tokens, re-reading on change at most once a second, and no token text anywhere.
import { createHash } from "node:crypto";
import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ApiAuth, Caller } from "../../../src/http/auth/api-auth.js";
import { createTokenFileAuth, parseTokenFile, RECHECK_INTERVAL_MS } from "../../../src/http/auth/token-file-auth.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { captureLog, expectNoValues } from "../../secrets/log-capture.js";

const ADMIN = "admin-token-0123456789abcdef";
const TEAM = "team-token-fedcba9876543210";
const OTHER = "other-token-aaaabbbbccccdddd";
const TOKENS = [ADMIN, TEAM, OTHER];

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

async function callerOf(auth: ApiAuth, token: string): Promise<Caller> {
  const answer = await auth.authenticate(token, "10.0.0.7");
  if (!answer.ok) throw new Error(`expected ${token.slice(0, 5)}… to authenticate: ${answer.message}`);
  return answer.caller;
}

describe("parseTokenFile", () => {
  it("reads tokens with their line numbers and scopes, skipping blanks and comments", () => {
    const text = `# local tokens\n\n${ADMIN}\n  ${TEAM}   team-a,team-b  \r\n# ${OTHER}\n${OTHER}\tteam-c,team-c\n`;
    expect(parseTokenFile(text, "/etc/tokens")).toEqual([
      { line: 3, digest: digest(ADMIN), namespaces: undefined },
      { line: 4, digest: digest(TEAM), namespaces: ["team-a", "team-b"] },
      { line: 6, digest: digest(OTHER), namespaces: ["team-c"] },
    ]);
  });

  it("answers no entries for a file of comments", () => {
    expect(parseTokenFile("# nothing yet\n\n", "f")).toEqual([]);
  });

  it.each([
    ["a third field", `${ADMIN} team-a extra`],
    ["an empty namespace", `${ADMIN} team-a,,team-b`],
    ["a trailing comma", `${ADMIN} team-a,`],
    ["an upper-case namespace", `${ADMIN} Team-A`],
    ["a namespace longer than 63", `${ADMIN} ${"a".repeat(64)}`],
    ["a non-ASCII token", "tökén-with-umlauts"],
  ])("throws naming the file and line, never the content, when a line has %s", (_what, line) => {
    const text = `# header\n${OTHER}\n${line}\n`;
    let error: unknown;
    try {
      parseTokenFile(text, "/etc/credbroker/tokens");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/^token file \/etc\/credbroker\/tokens line 3: /);
    for (const part of line.split(/[\s,]+/).filter((p) => p.length > 3)) expect(message).not.toContain(part);
  });

  it("throws naming both lines when a token repeats, and not the token", () => {
    expect(() => parseTokenFile(`${TEAM}\n${ADMIN}\n${TEAM} team-a\n`, "tokens")).toThrow(/^token file tokens line 3: repeats the token of line 1$/);
  });
});

describe("createTokenFileAuth", () => {
  let dir: string;
  let path: string;
  let clock: FakeClock;
  const log = captureLog();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "credbroker-token-file-"));
    path = join(dir, "tokens");
    clock = new FakeClock();
    await writeFile(path, `# admin\n${ADMIN}\n${TEAM} team-a,team-b\n`);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("authenticates a listed token as its line, and refuses a missing or unknown one without echoing it", async () => {
    const auth = await createTokenFileAuth({ path, clock, logger: log.logger });
    expect(await auth.authenticate(ADMIN, "10.0.0.7")).toEqual({ ok: true, caller: { id: "token-file:2", display: "token-file line 2" } });
    expect(await auth.authenticate(TEAM, "10.0.0.7")).toEqual({ ok: true, caller: { id: "token-file:3", display: "token-file line 3" } });
    expect(await auth.authenticate(undefined, "10.0.0.7")).toEqual({ ok: false, message: "a bearer token is required" });
    const refused = await auth.authenticate(OTHER, "10.0.0.7");
    expect(refused).toEqual({ ok: false, message: "the token is not valid for this API" });
    expect(await auth.authenticate(`${ADMIN}x`, "10.0.0.7")).toEqual(refused);
    expect(await auth.authenticate(ADMIN.slice(0, -1), "10.0.0.7")).toEqual(refused);
  });

  it("lets an unscoped token do everything, cluster-wide included", async () => {
    const auth = await createTokenFileAuth({ path, clock });
    const admin = await callerOf(auth, ADMIN);
    for (const verb of ["update", "get", "list"] as const) {
      expect(await auth.authorize(admin, { verb })).toEqual({ allowed: true });
      expect(await auth.authorize(admin, { verb, namespace: "anywhere" })).toEqual({ allowed: true });
    }
  });

  it("keeps a scoped token within its namespaces and names the scope when it denies", async () => {
    const auth = await createTokenFileAuth({ path, clock });
    const team = await callerOf(auth, TEAM);
    expect(await auth.authorize(team, { verb: "update", namespace: "team-a" })).toEqual({ allowed: true });
    expect(await auth.authorize(team, { verb: "get", namespace: "team-b" })).toEqual({ allowed: true });
    expect(await auth.authorize(team, { verb: "update", namespace: "team-c" })).toEqual({
      allowed: false,
      message: 'token-file line 3 may not update upstreams.gloo.solo.io in namespace "team-c": it is scoped to namespaces "team-a", "team-b"',
    });
    expect(await auth.authorize(team, { verb: "list" })).toEqual({
      allowed: false,
      message: 'token-file line 3 is scoped to namespaces "team-a", "team-b" and may not list upstreams.gloo.solo.io cluster-wide',
    });
  });

  it("authorizes a copy of a caller by its id", async () => {
    const auth = await createTokenFileAuth({ path, clock });
    const team = { ...(await callerOf(auth, TEAM)) };
    expect(await auth.authorize(team, { verb: "update", namespace: "team-c" })).toMatchObject({ allowed: false });
    expect(await auth.authorize({ id: "token-file:9", display: "token-file line 9" }, { verb: "get", namespace: "team-a" })).toEqual({
      allowed: false,
      message: "token-file line 9 is no longer in the token file",
    });
  });

  it("picks up an edited file at the first request a second later, not before", async () => {
    const auth = await createTokenFileAuth({ path, clock, logger: log.logger });
    await writeFile(path, `${OTHER}\n${TEAM} team-c\n`);
    clock.advance(RECHECK_INTERVAL_MS - 1);
    expect((await auth.authenticate(ADMIN, "10.0.0.7")).ok).toBe(true);
    expect((await auth.authenticate(OTHER, "10.0.0.7")).ok).toBe(false);
    clock.advance(1);
    expect((await auth.authenticate(ADMIN, "10.0.0.7")).ok).toBe(false);
    expect(await auth.authenticate(OTHER, "10.0.0.7")).toEqual({ ok: true, caller: { id: "token-file:1", display: "token-file line 1" } });
    const team = await callerOf(auth, TEAM);
    expect(team.id).toBe("token-file:2");
    expect(await auth.authorize(team, { verb: "update", namespace: "team-c" })).toEqual({ allowed: true });
    expect(await auth.authorize(team, { verb: "update", namespace: "team-a" })).toMatchObject({ allowed: false });
    expectNoValues(log, TOKENS);
  });

  it("re-reads a rewrite of the same size when its mtime moves", async () => {
    const auth = await createTokenFileAuth({ path, clock });
    const sameSize = `# admin\n${OTHER}\n${TEAM} team-a,team-b\n`;
    await writeFile(path, sameSize);
    await utimes(path, new Date(), new Date(Date.now() + 5_000));
    clock.advance(RECHECK_INTERVAL_MS);
    expect((await auth.authenticate(OTHER, "10.0.0.7")).ok).toBe(true);
    expect((await auth.authenticate(ADMIN, "10.0.0.7")).ok).toBe(false);
  });

  it("reads the file once a second however many requests arrive, and not at all while it is unchanged", async () => {
    let stats = 0;
    let reads = 0;
    const files = {
      stat: () => {
        stats++;
        return Promise.resolve({ mtimeMs: 1, size: 10 });
      },
      readFile: () => {
        reads++;
        return Promise.resolve(`${ADMIN}\n`);
      },
    };
    const auth = await createTokenFileAuth({ path: "/virtual/tokens", clock, ...files });
    for (let i = 0; i < 50; i++) await auth.authenticate(ADMIN, "10.0.0.7");
    expect({ stats, reads }).toEqual({ stats: 1, reads: 1 });
    clock.advance(RECHECK_INTERVAL_MS);
    await Promise.all(Array.from({ length: 20 }, () => auth.authenticate(ADMIN, "10.0.0.7")));
    expect({ stats, reads }).toEqual({ stats: 2, reads: 1 });
  });

  it("keeps the old tokens and warns once when a re-read finds a malformed line or no file, then recovers", async () => {
    const warnings = captureLog();
    const auth = await createTokenFileAuth({ path, clock, logger: warnings.logger });
    await writeFile(path, `${ADMIN}\n${OTHER} BAD_NAMESPACE\n`);
    for (let i = 0; i < 3; i++) {
      clock.advance(RECHECK_INTERVAL_MS);
      expect((await auth.authenticate(TEAM, "10.0.0.7")).ok).toBe(true);
    }
    await rm(path);
    clock.advance(RECHECK_INTERVAL_MS);
    expect((await auth.authenticate(TEAM, "10.0.0.7")).ok).toBe(true);
    const warned = warnings.lines.filter((l) => l.includes('"level":"warn"'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain(`token file ${path} line 2`);

    await writeFile(path, `${OTHER}\n`);
    clock.advance(RECHECK_INTERVAL_MS);
    expect((await auth.authenticate(OTHER, "10.0.0.7")).ok).toBe(true);
    expect((await auth.authenticate(TEAM, "10.0.0.7")).ok).toBe(false);
    expectNoValues(warnings, [...TOKENS, "BAD_NAMESPACE"]);
  });

  it("fails to start naming the path when the file cannot be read", async () => {
    const missing = join(dir, "missing");
    await expect(createTokenFileAuth({ path: missing, clock })).rejects.toThrow(`cannot read the token file ${missing}`);
  });

  it("fails to start naming the file and line, never the content, when a line is malformed", async () => {
    await writeFile(path, `${ADMIN}\n\n${TEAM} team-a ${OTHER}\n`);
    const failure = createTokenFileAuth({ path, clock });
    await expect(failure).rejects.toThrow(`token file ${path} line 3:`);
    const message = await failure.catch((err: unknown) => (err as Error).message);
    for (const token of TOKENS) expect(message).not.toContain(token);
  });

  it("starts with an empty file, warning that every call will be refused", async () => {
    const warnings = captureLog();
    await writeFile(path, "# no tokens yet\n");
    const auth = await createTokenFileAuth({ path, clock, logger: warnings.logger });
    expect((await auth.authenticate(ADMIN, "10.0.0.7")).ok).toBe(false);
    expect(warnings.lines.join("\n")).toContain("holds no tokens");
  });
});
