// Where build.sh caches each real server's binary, computed as build.sh does, from build.sh's own table.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The binary of server `name` (an entry of build.sh's table): sha256 of its go.mod, go.sum and
 * version, under CREDBROKER_SERVER_CACHE or ~/.cache/credbroker/real-servers. Reads files only;
 * throws when build.sh has no such entry or the module files are missing.
 */
export function builtServerPath(name: string): string {
  const cacheRoot = process.env["CREDBROKER_SERVER_CACHE"] ?? join(homedir(), ".cache/credbroker/real-servers");
  const entry = new RegExp(`^\\s*"${name} (\\S+) \\S+ (v\\S+)"\\s*$`, "m").exec(readFileSync(join(here, "build.sh"), "utf8"));
  if (!entry) throw new Error(`build.sh has no entry for ${name}`);
  const [, dir = "", version = ""] = entry;
  const hash = createHash("sha256");
  for (const file of ["go.mod", "go.sum"]) hash.update(readFileSync(join(here, dir, file)));
  hash.update(`${version}\n`);
  return join(cacheRoot, `${name}-${hash.digest("hex").slice(0, 16)}`, "bin", name);
}
