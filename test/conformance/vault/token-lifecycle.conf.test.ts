// The broker's Vault token on a real Vault: revoked behind its back, short TTLs (renewal, a new login at the max TTL), and revoked on SIGTERM.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { auditFindings } from "./audit-policy.js";
import { AUTH_MOUNT, condition, GOOD_KEYS, loginsIn, requestsIn, sleep, startVaultWorld, waitFor, type VaultWorld } from "./world.js";

const NS = "lifecycle";
const UPSTREAMS = ["one", "two"] as const;
const ROOT = new URL("../../../", import.meta.url).pathname;

describe("the broker's Vault token on a real Vault", () => {
  let world: VaultWorld;
  const allAccepted = async (): Promise<boolean> => {
    for (const name of UPSTREAMS) if ((await world.status(NS, name))?.state !== "Accepted") return false;
    return true;
  };

  beforeAll(async () => {
    world = await startVaultWorld();
    await world.writeSecret(NS, "keys-one", GOOD_KEYS);
    await world.writeSecret(NS, "keys-two", GOOD_KEYS);
    await world.addUpstreams(NS, [
      ["one", "keys-one"],
      ["two", "keys-two"],
    ]);
  });
  afterAll(async () => {
    await world?.close();
  });

  it("logs in again when its token is revoked behind its back, and every upstream stays Accepted", async () => {
    await world.startBroker();
    await waitFor("both upstreams accepted", allAccepted);
    const before = await world.brokerAccessors();
    expect(before).toHaveLength(1);

    const revokedAt = Date.now();
    const revoked = await world.vault.request("POST", "/v1/auth/token/revoke-accessor", { accessor: before[0] }, world.vault.rootToken);
    expect(revoked.status).toBe(204);
    const verified = (await world.status(NS, "one"))?.lastVerified;
    await world.reverify(NS, "one", "after-revoke");
    await waitFor("a forced re-verification after the revoke", async () => (await world.status(NS, "one"))?.lastVerified !== verified, 30_000);

    expect(await allAccepted()).toBe(true);
    expect(condition(await world.status(NS, "one"), "SecretResolved")).toMatchObject({ status: "True", reason: "Resolved" });
    // The dead token was met (a read refused, audited under its HMAC), then one new login, whichever
    // read met it first (the poll or the forced pass).
    const refused = world.brokerAudit().filter((e) => e.type === "response" && e.timeMs >= revokedAt && e.error.includes("permission denied"));
    expect(refused.length).toBeGreaterThan(0);
    expect(loginsIn(world.brokerAudit(), revokedAt)).toHaveLength(1);
    const after = await world.brokerAccessors();
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
    await world.stopBrokers();
  }, 90_000);

  it("with token_ttl 5s and token_max_ttl 15s renews, logs in again at the max TTL, and never logs in per read", async () => {
    const setup = await world.configure({ tokenTtl: "5s", tokenMaxTtl: "15s" });
    // Run a second time: idempotent, it keeps what exists and rewrites the role.
    expect(setup).toContain("KV v2 already at secret/");
    expect(setup).toContain("kubernetes auth already at auth/kubernetes/");
    expect(setup).toContain("token_ttl=5s, token_max_ttl=15s");
    const started = Date.now();
    await world.startBroker();
    await waitFor("both upstreams accepted", allAccepted);

    const notAccepted: string[] = [];
    for (let second = 0; second < 40; second++) {
      if (second % 5 === 0) await world.reverify(NS, "two", `ttl-${second}`);
      for (const name of UPSTREAMS) {
        const s = await world.status(NS, name);
        if (s?.state !== "Accepted" || condition(s, "SecretResolved")?.status !== "True") notAccepted.push(`${second}s ${name}: ${s?.state} ${JSON.stringify(condition(s, "SecretResolved"))}`);
      }
      await sleep(1_000);
    }
    const ended = Date.now();
    expect(notAccepted).toEqual([]);

    const audit = world.brokerAudit();
    const logins = loginsIn(audit, started, ended).length;
    const renewals = audit.filter((e) => e.type === "response" && e.path === "auth/token/renew-self" && e.error === "" && e.timeMs >= started && e.timeMs < ended).length;
    const reads = requestsIn(audit, /^secret\/data\//, started, ended);
    const failedReads = audit.filter((e) => e.type === "response" && e.path.startsWith("secret/data/") && e.error !== "" && e.timeMs >= started && e.timeMs < ended);
    console.info(`short TTLs over ${Math.round((ended - started) / 1000)} s: ${logins} logins, ${renewals} renewals, ${reads.length} reads, ${failedReads.length} failed reads`);
    // ~45 s at a 15 s max TTL: the first login and two or three more at the cap.
    expect(logins).toBeGreaterThanOrEqual(3);
    expect(logins).toBeLessThanOrEqual(5);
    // Renewed in between (about every 3.3 s), not replaced by a login each time.
    expect(renewals).toBeGreaterThanOrEqual(2 * logins);
    expect(reads.length).toBeGreaterThanOrEqual(10 * logins);
    expect(failedReads.map((e) => `${e.path}: ${e.error}`)).toEqual([]);
    await world.stopBrokers();
  }, 120_000);

  it("revokes its token on SIGTERM (auth/token/revoke-self), as a broker process", async () => {
    // Back to the default TTLs, so the process holds one token for its whole life. A token the last
    // broker replaced at its max TTL was not revoked (it lives out its TTL, 15 s at most): wait for it.
    await world.configure();
    await waitFor("the short-TTL tokens expired", async () => (await world.brokerAccessors()).length === 0, 30_000, 500);
    const dir = await mkdtemp(join(tmpdir(), "credbroker-sigterm-"));
    const doc: Record<string, Record<string, unknown>> = {};
    for (const [path, value] of Object.entries(world.brokerFlags())) {
      const [section = "", key = ""] = path.split(".");
      (doc[section] ??= {})[key] = value;
    }
    const configFile = join(dir, "credbroker.yaml");
    await writeFile(configFile, stringify(doc), { mode: 0o600 });
    // Node itself with tsx as a loader, so the signal reaches the broker and not a launcher.
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli.ts"), "run", "--config", configFile], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    const killOnExit = (): void => void child.kill("SIGKILL");
    process.once("exit", killOnExit);
    try {
      await waitFor("the broker process logged in", async () => (await world.brokerAccessors()).length === 1, 60_000, 500);
      await world.reverify(NS, "one", "process");
      const signalledAt = Date.now();
      child.kill("SIGTERM");
      const exit = await Promise.race([exited, sleep(30_000).then(() => undefined)]);
      expect(exit, output.slice(-2000)).toEqual({ code: 0, signal: null });

      const revokes = world.brokerAudit().filter((e) => e.type === "response" && e.path === "auth/token/revoke-self" && e.timeMs >= signalledAt);
      expect(revokes).toHaveLength(1);
      expect(revokes[0]?.error).toBe("");
      expect(revokes[0]?.policies).toContain("credbroker");
      expect(await world.brokerAccessors()).toEqual([]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      process.off("exit", killOnExit);
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("made only requests that policies/credbroker.hcl allows (audit device)", async () => {
    // Stopped first, so the revoke-self of its shutdown is in the log too.
    await world.stopBrokers();
    const { rows, notAllowed, foreignGrants } = auditFindings("token-lifecycle.conf.test.ts", world.brokerAudit(), `auth/${AUTH_MOUNT}/login`);
    expect(rows.map((r) => r.request)).toEqual(expect.arrayContaining(["update auth/token/renew-self", "update auth/token/revoke-self"]));
    expect(notAllowed).toEqual([]);
    expect(foreignGrants).toEqual([]);
  });
});
