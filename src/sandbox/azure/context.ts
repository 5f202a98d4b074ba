// The state and settings the Entra ID and ARM handlers of one Azure emulator share.
import type { KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { CallCounters } from "../common/counters.js";
import type { FaultInjector } from "../common/faults.js";
import type { Directory } from "./directory.js";
import type { FunctionAppStore } from "./function-apps.js";

export interface TokenSigningKey {
  kid: string;
  privateKeyPem: string;
  publicKeyPem: string;
  /** Parsed once, since ARM verifies every request's token with it. */
  publicKey: KeyObject;
  certificatePem: string;
}

export interface AzureContext {
  directory: Directory;
  apps: FunctionAppStore;
  signingKey: TokenSigningKey;
  faults: FaultInjector;
  counters: CallCounters;
  /** Milliseconds since the epoch; injectable so tests can expire tokens without waiting. */
  clock: () => number;
  /** Items per ARM list page; small by default so `nextLink` paging is exercised. */
  pageSize: number;
  /** Access token lifetime, in seconds. */
  tokenLifetimeSeconds: number;
  /** Answer OpenID discovery for unknown tenants with 400 AADSTS90002 instead of a templated document (see entra.ts). */
  strictTenantDiscovery: boolean;
  /** The emulator's own URL, known once it listens. */
  url: () => string;
}

/**
 * The origin a client used to reach us (`https://localhost:port` or `https://127.0.0.1:port`).
 * Endpoints we hand out are built from it because MSAL requires the OpenID issuer to have the
 * same host as the authority it was configured with. Falls back to the listening URL when the
 * Host header is absent or odd.
 */
export function requestOrigin(req: IncomingMessage, ctx: AzureContext): string {
  const host = req.headers.host;
  if (host !== undefined && /^[A-Za-z0-9.\-[\]:]+$/.test(host)) return `https://${host}`;
  return ctx.url();
}

/** Resource ids of public ARM that the emulator stands in for, plus its own origin. */
const PUBLIC_ARM_RESOURCES = new Set(["https://management.azure.com", "https://management.core.windows.net"]);

/**
 * True when `resource` (a scope without `/.default`, or a token's `aud`) names ARM: the public
 * ARM resource ids, or this emulator's origin under any loopback name (clients may use
 * `localhost` where we listen on `127.0.0.1`).
 */
export function isArmResource(resource: string, ctx: AzureContext): boolean {
  const trimmed = resource.replace(/\/+$/, "");
  if (PUBLIC_ARM_RESOURCES.has(trimmed.toLowerCase())) return true;
  let candidate: URL;
  let own: URL;
  try {
    candidate = new URL(trimmed);
    own = new URL(ctx.url());
  } catch {
    return false;
  }
  const loopback = new Set(["localhost", "127.0.0.1", "[::1]", own.hostname]);
  return candidate.protocol === "https:" && candidate.port === own.port && loopback.has(candidate.hostname) && (candidate.pathname === "/" || candidate.pathname === "");
}
