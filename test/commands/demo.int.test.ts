import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { runDemo } from "../../src/commands/demo.js";
import { captureStream } from "../support/capture.js";

/** What a run of the CLI entry printed, with the demo's API token read from its file while the run was alive. */
interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  token?: string;
  tokenFile?: string;
}

function runCli(args: string[]): Promise<CliRun> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const run: CliRun = { code: null, stdout: "", stderr: "" };
  child.stdout.on("data", (c: Buffer) => (run.stdout += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => {
    run.stderr += c.toString("utf8");
    // The file lives only as long as the demo: read it the moment its path is announced.
    const file = /API token in (.+) \(both gone at exit\)/.exec(run.stderr)?.[1];
    if (file !== undefined && run.tokenFile === undefined) {
      run.tokenFile = file;
      run.token = readFileSync(file, "utf8").trim();
    }
  });
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      run.code = code;
      resolve(run);
    }),
  );
}

describe("credbroker demo", () => {
  it("shows the poke-it guide, the sample fleet in a table and the scripted fix turning a Rejected upstream Accepted", async () => {
    const sink = captureStream();
    let token: string | undefined;
    // Reads the token file while the demo runs, from the path the guide names.
    const out = new Writable({
      write(chunk: Buffer, e, done) {
        const file = /\$\(cat (\S+)\)/.exec(chunk.toString("utf8"))?.[1];
        if (file !== undefined && token === undefined) token = readFileSync(file, "utf8").trim();
        sink.stream.write(chunk, e, done);
      },
    });
    const err = captureStream();
    expect(await runDemo({ out, err: err.stream, durationSeconds: 9, interactive: false })).toBe(0);
    const text = sink.text();
    expect(text.indexOf("Poke it while it runs")).toBeLessThan(text.indexOf("UPSTREAM"));
    expect(text).toMatch(/kubectl --kubeconfig \S+\/kubeconfig get upstreams -A/);
    expect(text).toMatch(/curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/reverify -H "Authorization: Bearer \$\(cat \S+\/api-token\)"/);
    const tables = text.split(/\n\[\d+s\]\n/).filter((t) => t.startsWith("UPSTREAM"));
    expect(tables.length).toBeGreaterThan(1);
    expect(tables.some((t) => /team-orders\/orders-wrong-key\s+aws\s+Rejected/.test(t))).toBe(true);
    expect(text).toContain("rotating team-orders/aws-wrong to the right key");
    expect(tables.at(-1)).toMatch(/team-orders\/orders-wrong-key\s+aws\s+Accepted/);
    expect(tables.at(-1)).toMatch(/team-orders\/orders-lambda\s+aws\s+Accepted\s+123456789012:user\/gateway\s+3\/3/);
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(text + err.text()).not.toContain(token);
    expect(text).not.toContain("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  }, 60_000);

  it("prints only the settled fleet as one JSON document with --once -o json, exits 0, and never shows the API token", async () => {
    const run = await runCli(["demo", "--once", "-o", "json"]);
    expect(run.code, run.stderr).toBe(0);
    const { upstreams } = JSON.parse(run.stdout) as { upstreams: { namespace: string; name: string; type: string; state: string; conditions: { type: string; status: string; reason: string }[]; functions?: { published: number } }[] };
    // src/sandbox/sample-seed.ts: every cloud upstream has the gateway user's keys except
    // orders-wrong-key (aws-wrong holds a bad secret key); static-backend is not a cloud upstream.
    expect(upstreams.map((u) => [`${u.namespace}/${u.name}`, u.type, u.state])).toEqual([
      ["team-orders/orders-azure", "azure", "Accepted"],
      ["team-orders/orders-ec2", "awsEc2", "Accepted"],
      ["team-orders/orders-lambda", "aws", "Accepted"],
      ["team-orders/orders-legacy", "aws", "Accepted"],
      ["team-orders/orders-wrong-key", "aws", "Rejected"],
      ["team-payments/payments-vault", "aws", "Accepted"],
    ]);
    const byName = new Map(upstreams.map((u) => [u.name, u]));
    expect(byName.get("orders-wrong-key")?.conditions).toContainEqual(expect.objectContaining({ type: "Authenticated", status: "False", reason: "InvalidSecretKey" }));
    // orders-* without *-test, latest and aliases: orders-create, orders-create:live, orders-list.
    expect(byName.get("orders-lambda")?.functions?.published).toBe(3);
    expect(run.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(run.stdout).not.toContain(run.token);
    expect(run.stderr).not.toContain(run.token);
    expect(run.stdout + run.stderr).not.toContain("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    expect(existsSync(run.tokenFile!)).toBe(false);
  }, 90_000);

  it("exits 1 with a line on stderr and nothing on stdout when the fleet does not settle before --duration", async () => {
    // The fleet must hold still for a second before it counts as settled, so a 1 s deadline always passes first.
    const run = await runCli(["demo", "--once", "-o", "json", "--duration", "1"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/credbroker demo: the fleet did not settle within 1s \(raise --duration\): \d+ of \d+ upstreams Unverified/);
  }, 90_000);

  it("refuses -o without --once as a usage error", async () => {
    const run = await runCli(["demo", "-o", "json"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("-o/--output: only with --once; see credbroker demo --help");
  }, 30_000);
});
