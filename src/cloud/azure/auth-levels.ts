// Azure Functions' own authorization levels, read from a function's HTTP trigger binding, and which of them Gloo can route.
import type { AzureAuthLevel } from "../../model/upstream.js";

/**
 * The Functions host's `AuthorizationLevel` (Microsoft.Azure.WebJobs.Extensions.Http), which is how
 * the host reads a numeric `authLevel` in function.json — and what ARM echoes in a function's
 * `config`. Not Gloo's Upstream enum (Anonymous 0, Function 1, Admin 2), which is only for the spec.
 */
export const AZURE_FUNCTIONS_AUTH_LEVELS = ["Anonymous", "Function", "System", "Admin", "User"] as const;
export type FunctionsAuthLevel = (typeof AZURE_FUNCTIONS_AUTH_LEVELS)[number];

/**
 * What discovery does with a level: route it with Gloo's level, or leave it out. `System` needs a
 * system key (the host's extensions and Azure services hold them) and `User` an App Service
 * authentication token; Gloo's enum can say neither, and sending `_master` instead would hand the
 * master key to endpoints their authors meant only for Azure or for signed-in users. Both are
 * left out, like functions without an HTTP trigger.
 */
export function glooAuthLevel(level: FunctionsAuthLevel): AzureAuthLevel | undefined {
  switch (level) {
    case "Anonymous":
    case "Function":
    case "Admin":
      return level;
    case "System":
    case "User":
      return undefined;
  }
}

/** A numeric or named level as the host reads it; an unknown one defaults as the host does (function). Pure. */
export function functionsAuthLevel(value: unknown): FunctionsAuthLevel {
  if (typeof value === "number") return AZURE_FUNCTIONS_AUTH_LEVELS[value] ?? "Function";
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (/^\d+$/.test(trimmed)) return AZURE_FUNCTIONS_AUTH_LEVELS[Number(trimmed)] ?? "Function";
    return AZURE_FUNCTIONS_AUTH_LEVELS.find((l) => l.toLowerCase() === trimmed.toLowerCase()) ?? "Function";
  }
  // The Functions runtime defaults an HTTP trigger without authLevel to function.
  return "Function";
}

/**
 * The HTTP trigger binding's level from a function's config (`function.json` as ARM echoes it):
 * undefined when the function has no HTTP trigger (the gateway cannot route it). Pure.
 */
export function httpTriggerAuthLevel(config: Record<string, unknown> | undefined): FunctionsAuthLevel | undefined {
  const bindings = config?.bindings;
  if (!Array.isArray(bindings)) return undefined;
  for (const b of bindings as unknown[]) {
    if (typeof b !== "object" || b === null) continue;
    const binding = b as Record<string, unknown>;
    if (typeof binding.type !== "string" || binding.type.toLowerCase() !== "httptrigger") continue;
    return functionsAuthLevel(binding.authLevel);
  }
  return undefined;
}
