// One Lambda discovery sweep: ListFunctions with full Marker paging, ListAliases per kept function, every call paced per account-region.
import { ListAliasesCommand, ListFunctionsCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { mapWithConcurrency } from "../../runtime/pools/map-with-concurrency.js";
import { compileFunctionFilter } from "../../model/function-filter.js";
import type { AwsDiscoverRequest, DiscoveredFunction } from "../provider.js";
import { sortLambda } from "./lambda-entries.js";

type AwsFunction = Extract<DiscoveredFunction, { provider: "aws" }>;

/** Runs one paced, instrumented Lambda call; supplied by the provider (pacing, retries on throttling, metrics). */
export type PacedCall = <T>(operation: string, call: () => Promise<T>) => Promise<T>;

/** Lambda's largest page. */
const PAGE_SIZE = 50;
/** A guard against a provider that keeps answering the same marker. */
const MAX_PAGES = 100_000;

/**
 * Lists every function of the client's account and region (versions too when asked), keeps
 * the names the filter passes, and lists aliases of those when asked, at most
 * `aliasConcurrency` at a time. I/O; throws the CloudCallError of the first failed call.
 * Returns the list sorted (sortLambda).
 */
export async function sweepLambda(client: LambdaClient, request: AwsDiscoverRequest, paced: PacedCall, aliasConcurrency: number): Promise<AwsFunction[]> {
  const wantVersions = request.qualifiers.includes("versions");
  const out: AwsFunction[] = [];
  const names = new Set<string>();
  const passes = compileFunctionFilter(request.filter);
  let marker: string | undefined;
  let pages = 0;
  do {
    const page = await paced("lambda:ListFunctions", () =>
      client.send(new ListFunctionsCommand({ MaxItems: PAGE_SIZE, ...(wantVersions ? { FunctionVersion: "ALL" as const } : {}), ...(marker === undefined ? {} : { Marker: marker }) })),
    );
    for (const fn of page.Functions ?? []) {
      const name = fn.FunctionName;
      if (name === undefined || !passes(name)) continue;
      const version = fn.Version ?? "$LATEST";
      names.add(name);
      if (version === "$LATEST") out.push({ provider: "aws", functionName: name, qualifier: "$LATEST", qualifierKind: "latest" });
      else if (wantVersions) out.push({ provider: "aws", functionName: name, qualifier: version, qualifierKind: "version" });
    }
    marker = page.NextMarker ?? undefined;
    pages += 1;
  } while (marker !== undefined && marker !== "" && pages < MAX_PAGES);

  if (request.qualifiers.includes("aliases")) {
    const perFunction = await mapWithConcurrency([...names].sort(), aliasConcurrency, (name) => listAliases(client, name, paced));
    for (const aliases of perFunction) out.push(...aliases);
  }
  return sortLambda(out);
}

async function listAliases(client: LambdaClient, functionName: string, paced: PacedCall): Promise<AwsFunction[]> {
  const out: AwsFunction[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const page = await paced("lambda:ListAliases", () =>
      client.send(new ListAliasesCommand({ FunctionName: functionName, MaxItems: PAGE_SIZE, ...(marker === undefined ? {} : { Marker: marker }) })),
    );
    for (const alias of page.Aliases ?? []) {
      if (alias.Name !== undefined) out.push({ provider: "aws", functionName, qualifier: alias.Name, qualifierKind: "alias" });
    }
    marker = page.NextMarker ?? undefined;
    pages += 1;
  } while (marker !== undefined && marker !== "" && pages < MAX_PAGES);
  return out;
}
