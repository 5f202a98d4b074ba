import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderOnceReport, renderPokeGuide, shellWord, type GuidePaths } from "../../src/commands/demo-guide.js";
import type { UpstreamView } from "../../src/controller/controller.js";

// A folder whose name a careless guide would split or unquote: a space, a single quote, a dollar sign.
const dir = mkdtempSync(join(tmpdir(), "demo guide it's $HOME-"));
const token = "tok3n-value_0123456789abcdefABCDEFghij";
writeFileSync(join(dir, "api-token"), `${token}\n`, { mode: 0o600 });
const paths: GuidePaths = {
  kubeconfig: join(dir, "kube config"),
  brokerUrl: "http://127.0.0.1:40123",
  tokenFile: join(dir, "api-token"),
  brokenManifest: join(dir, "aws-wrong.broken.yaml"),
  fixedManifest: join(dir, "aws-wrong.fixed.yaml"),
};
const guide = renderPokeGuide(paths);
const line = (pattern: RegExp): string => guide.split("\n").find((l) => pattern.test(l)) ?? "";

/** The arguments a POSIX shell passes to `command` when it runs `line` (the command stubbed to print them). */
function argumentsOf(command: "kubectl" | "curl", shellLine: string): string[] {
  const out = execFileSync("sh", ["-c", `${command}() { for a in "$@"; do printf '%s\\0' "$a"; done; }\n${shellLine}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("shellWord", () => {
  it("leaves a word without shell metacharacters as it is", () => {
    expect(shellWord("/tmp/credbroker-demo-x1/api-token")).toBe("/tmp/credbroker-demo-x1/api-token");
    expect(shellWord("http://127.0.0.1:8080/v1/reverify")).toBe("http://127.0.0.1:8080/v1/reverify");
  });

  it("single-quotes a word with spaces, quotes, $ or an empty word", () => {
    expect(shellWord("/tmp/a b")).toBe("'/tmp/a b'");
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(shellWord("$HOME")).toBe("'$HOME'");
    expect(shellWord("")).toBe("''");
  });
});

describe("the poke-it guide", () => {
  it("lists the sandbox's upstreams with kubectl, the kubeconfig path one word even with a space and a quote in it", () => {
    expect(argumentsOf("kubectl", line(/ get upstreams -A/))).toEqual(["--kubeconfig", paths.kubeconfig, "get", "upstreams", "-A"]);
  });

  it("asks for a waited reverify of a sample upstream with the token read from its file at run time", () => {
    expect(argumentsOf("curl", line(/\/v1\/reverify/))).toEqual([
      "-s",
      "-X",
      "POST",
      "http://127.0.0.1:40123/v1/reverify",
      "-H",
      `Authorization: Bearer ${token}`,
      "-H",
      "Content-Type: application/json",
      "-d",
      '{"namespace":"team-orders","name":"orders-lambda","wait":true}',
    ]);
  });

  it("reads the upstreams with the same token file", () => {
    expect(argumentsOf("curl", line(/\/v1\/upstreams/))).toEqual(["-s", "http://127.0.0.1:40123/v1/upstreams", "-H", `Authorization: Bearer ${token}`]);
  });

  it("rotates the secret with kubectl replace of each manifest and says what the table will show", () => {
    const broken = line(/broken\.yaml/);
    const fixed = line(/fixed\.yaml/);
    expect(argumentsOf("kubectl", broken)).toEqual(["--kubeconfig", paths.kubeconfig, "replace", "--validate=false", "-f", paths.brokenManifest]);
    expect(argumentsOf("kubectl", fixed)).toEqual(["--kubeconfig", paths.kubeconfig, "replace", "--validate=false", "-f", paths.fixedManifest]);
    expect(broken).toMatch(/orders-wrong-key turns Rejected/);
    expect(fixed).toMatch(/orders-wrong-key turns Accepted/);
  });

  it("names the token file but never holds the token", () => {
    expect(guide).toContain(shellWord(paths.tokenFile));
    expect(guide).not.toContain(token);
    expect(guide.match(/Bearer \$\(cat /g)).toHaveLength(2);
  });
});

describe("the --once report", () => {
  const condition = { type: "Authenticated", status: "False", reason: "InvalidSecretKey", message: "sts:GetCallerIdentity failed", lastTransitionTime: "2026-01-01T00:00:00Z" } as const;
  const views: UpstreamView[] = [
    { namespace: "team-orders", name: "orders-wrong-key", kind: "aws", state: "Rejected", reason: "InvalidSecretKey: sts:GetCallerIdentity failed", conditions: [condition] },
    {
      namespace: "team-orders",
      name: "orders-azure",
      kind: "azure",
      state: "Accepted",
      reason: "",
      conditions: [],
      identity: { provider: "azure", tenantId: "t", clientId: "c" },
      functions: { discovered: 3, published: 3, truncated: false },
      lastVerified: "2026-01-01T00:00:00Z",
    },
  ];

  it("prints one JSON document of upstreams sorted by key, with type instead of kind", () => {
    const doc = JSON.parse(renderOnceReport(views, "json")) as { upstreams: Record<string, unknown>[] };
    expect(Object.keys(doc)).toEqual(["upstreams"]);
    expect(doc.upstreams.map((u) => u.name)).toEqual(["orders-azure", "orders-wrong-key"]);
    expect(doc.upstreams[0]).toEqual({ ...views[1], kind: undefined, type: "azure" });
    expect(doc.upstreams[1]).toEqual({ namespace: "team-orders", name: "orders-wrong-key", type: "aws", state: "Rejected", reason: "InvalidSecretKey: sts:GetCallerIdentity failed", conditions: [condition] });
    expect(doc.upstreams.every((u) => !("kind" in u))).toBe(true);
  });

  it("prints the live table's layout for -o table", () => {
    expect(renderOnceReport(views, "table")).toMatch(/^UPSTREAM\s+TYPE\s+STATE[^\n]*\nteam-orders\/orders-azure\s+azure\s+Accepted[\s\S]*\n$/);
  });
});
