// The JSON shapes Lambda returns for functions, versions and aliases, built from the emulator's records.
import { createHash } from "node:crypto";
import type { LambdaAlias, LambdaFunction } from "./functions.js";

export function functionArn(fn: Pick<LambdaFunction, "accountId" | "region" | "name">, qualifier?: string): string {
  const base = `arn:aws:lambda:${fn.region}:${fn.accountId}:function:${fn.name}`;
  return qualifier === undefined ? base : `${base}:${qualifier}`;
}

/** Lambda's LastModified form, e.g. `2026-01-01T00:00:00.000+0000`. */
export function lambdaTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "+0000");
}

/** A stable UUID-shaped id from `seed`, so RevisionIds do not change between listings. */
function stableUuid(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A FunctionConfiguration. `arnQualifier` decides the ARN form: ListFunctions shows `$LATEST`
 * with the unqualified ARN, ListVersionsByFunction qualifies every entry, `$LATEST` included.
 */
export function functionConfiguration(fn: LambdaFunction, version: string, arnQualifier: "versionsOnly" | "always"): Record<string, unknown> {
  const qualified = arnQualifier === "always" || version !== "$LATEST";
  return {
    FunctionName: fn.name,
    FunctionArn: functionArn(fn, qualified ? version : undefined),
    Runtime: fn.runtime,
    Role: `arn:aws:iam::${fn.accountId}:role/service-role/${fn.name}-role`,
    Handler: "index.handler",
    CodeSize: 1024,
    Description: "",
    Timeout: 3,
    MemorySize: 128,
    LastModified: lambdaTimestamp(fn.lastModifiedMs),
    CodeSha256: createHash("sha256").update(`${fn.name}:${version}`).digest("base64"),
    Version: version,
    TracingConfig: { Mode: "PassThrough" },
    RevisionId: stableUuid(`${functionArn(fn, version)}@${fn.lastModifiedMs}`),
    PackageType: "Zip",
    Architectures: ["x86_64"],
    EphemeralStorage: { Size: 512 },
    LoggingConfig: { LogFormat: "Text", LogGroup: `/aws/lambda/${fn.name}` },
  };
}

export function aliasConfiguration(fn: LambdaFunction, alias: LambdaAlias): Record<string, unknown> {
  return {
    AliasArn: functionArn(fn, alias.name),
    Name: alias.name,
    FunctionVersion: alias.functionVersion,
    Description: alias.description,
    RevisionId: stableUuid(`${functionArn(fn, alias.name)}->${alias.functionVersion}`),
  };
}
