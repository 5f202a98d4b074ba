// Checks the broker's requests in Vault's audit log against policies/credbroker.hcl (its token carries no other policy: the role sets token_no_default_policy), and records them for the closing note.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { VaultAuditEntry } from "../servers/vault-server.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
export const POLICY_FILE = join(ROOT, "policies/credbroker.hcl");
export const REQUESTS_TXT = "/tmp/vault-audit-requests.txt";
const REQUESTS_JSON = "/tmp/vault-audit-requests.json";

export interface Grant {
  policy: string;
  path: string;
  capabilities: string[];
}

/** The `path "..." { capabilities = [...] }` stanzas of an HCL policy. Pure; enough for our policy files. */
export function parsePolicy(policy: string, hcl: string): Grant[] {
  const text = hcl.replace(/#.*$/gm, "");
  const grants: Grant[] = [];
  for (const m of text.matchAll(/path\s+"([^"]+)"\s*\{([^}]*)\}/g)) {
    const caps = /capabilities\s*=\s*\[([^\]]*)\]/.exec(m[2] ?? "")?.[1] ?? "";
    grants.push({ policy, path: m[1] ?? "", capabilities: [...caps.matchAll(/"([^"]+)"/g)].map((c) => c[1] ?? "") });
  }
  return grants;
}

/** Vault's path matching: `+` one segment, a trailing `*` any suffix, else exact. Pure. */
export function pathMatches(pattern: string, path: string): boolean {
  const glob = pattern.endsWith("*");
  const body = (glob ? pattern.slice(0, -1) : pattern)
    .split("+")
    .map((part) => part.replace(/[.?^${}()|[\]\\/]/g, "\\$&"))
    .join("[^/]+");
  return new RegExp(`^${body}${glob ? ".*" : ""}$`).test(path);
}

/** A request's path with the secret's namespace and name replaced, so one line stands for every secret. Pure. */
export function pathPattern(path: string): string {
  return path.replace(/\/Secret\/[^/]+\/[^/]+$/, "/Secret/<namespace>/<name>");
}

export interface CheckedRequest {
  /** `<operation> <path pattern>` */
  request: string;
  /** The grant that allows it (`credbroker: path "..." [read]`), "unauthenticated (login)", or "" when none does. */
  grantedBy: string;
  count: number;
  /** How many of them Vault answered with an error (permission denied, sealed, ...). */
  errors: number;
  /** Policies Vault's own evaluation said granted it (audit policy_results), over every occurrence. */
  vaultGranting: string[];
  /** Not allowed, and provoked on purpose by a scenario (the forbidden path). */
  deliberate?: boolean;
}

/** Every distinct (operation, path pattern) among the broker's request entries, with the grant that allows each. Pure. */
export function checkRequests(entries: readonly VaultAuditEntry[], grants: readonly Grant[], loginPath: string): CheckedRequest[] {
  const byRequest = new Map<string, CheckedRequest>();
  for (const e of entries) {
    if (e.type !== "request") continue;
    const request = `${e.operation} ${pathPattern(e.path)}`;
    let row = byRequest.get(request);
    if (row === undefined) {
      const grant = grants.find((g) => g.capabilities.includes(e.operation) && pathMatches(g.path, e.path));
      const grantedBy = e.path === loginPath ? "unauthenticated (login)" : grant ? grantLabel(grant) : "";
      row = { request, grantedBy, count: 0, errors: 0, vaultGranting: [] };
      byRequest.set(request, row);
    }
    row.count++;
    if (e.error !== "") row.errors++;
    for (const p of e.grantingPolicies) if (!row.vaultGranting.includes(p)) row.vaultGranting.push(p);
  }
  return [...byRequest.values()].sort((a, b) => a.request.localeCompare(b.request));
}

/** The grants of policies/credbroker.hcl, the broker's only policy. Reads the file. */
export function brokerGrants(): Grant[] {
  return parsePolicy("credbroker", readFileSync(POLICY_FILE, "utf8"));
}

/** How a row names the grant that allows it (CheckedRequest.grantedBy). Pure. */
export function grantLabel(grant: Grant): string {
  return `${grant.policy}: path "${grant.path}" [${grant.capabilities.join(", ")}]`;
}

/**
 * Records `rows` as this test file's section of /tmp/vault-audit-requests.txt (and a JSON sidecar),
 * replacing the section of an earlier run of the same file, and rewrites the union at the top.
 * Writes files; never throws on a missing or unreadable sidecar.
 */
export function recordRequests(testFile: string, rows: readonly CheckedRequest[]): void {
  let all: Record<string, CheckedRequest[]> = {};
  try {
    if (existsSync(REQUESTS_JSON)) all = JSON.parse(readFileSync(REQUESTS_JSON, "utf8")) as Record<string, CheckedRequest[]>;
  } catch {
    all = {};
  }
  all[testFile] = [...rows];
  writeFileSync(REQUESTS_JSON, `${JSON.stringify(all, null, 2)}\n`);
  const union = new Map<string, { grantedBy: string; count: number; errors: number; deliberate?: boolean }>();
  for (const list of Object.values(all)) {
    for (const r of list) {
      const u = union.get(r.request) ?? { grantedBy: r.grantedBy, count: 0, errors: 0, ...(r.deliberate === true ? { deliberate: true } : {}) };
      u.count += r.count;
      u.errors += r.errors;
      union.set(r.request, u);
    }
  }
  const line = (request: string, grantedBy: string, count: number, errors: number, deliberate?: boolean): string =>
    `${request.padEnd(72)} ${String(count).padStart(5)}x ${errors > 0 ? `(${errors} answered with an error) ` : ""}<- ${grantedBy || (deliberate === true ? "not allowed: provoked on purpose (the forbidden-path scenario)" : "NOT ALLOWED by credbroker.hcl")}`;
  const out = [
    "# credbroker's requests to a real Vault 1.21.0, from its file audit device (test/conformance/vault)",
    "# operation, path (secret names generalised), times made, and the grant that allows it",
    "",
    "## the whole suite",
    ...[...union.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([request, u]) => line(request, u.grantedBy, u.count, u.errors, u.deliberate)),
  ];
  for (const [file, list] of Object.entries(all).sort(([a], [b]) => a.localeCompare(b))) {
    out.push("", `## ${file}`, ...list.map((r) => line(r.request, r.grantedBy, r.count, r.errors, r.deliberate)));
  }
  writeFileSync(REQUESTS_TXT, `${out.join("\n")}\n`);
}

/**
 * Scenario g for one test file: the broker's distinct requests, recorded for the closing note, with
 * those no grant allows (apart from `deliberate` ones a scenario provoked) and any policy other than
 * credbroker that Vault itself reports as granting one (`default` included: the broker's token must
 * not carry it). Reads and writes files.
 */
export function auditFindings(testFile: string, entries: readonly VaultAuditEntry[], loginPath: string, deliberate: readonly RegExp[] = []): { rows: CheckedRequest[]; notAllowed: string[]; foreignGrants: string[] } {
  const rows = checkRequests(entries, brokerGrants(), loginPath).map((r) =>
    r.grantedBy === "" && deliberate.some((d) => d.test(r.request)) ? { ...r, deliberate: true } : r,
  );
  recordRequests(testFile, rows);
  return {
    rows,
    notAllowed: rows.filter((r) => r.grantedBy === "" && !deliberate.some((d) => d.test(r.request))).map((r) => r.request),
    foreignGrants: rows.flatMap((r) => r.vaultGranting.filter((p) => p !== "credbroker").map((p) => `${r.request} granted by ${p}`)),
  };
}
