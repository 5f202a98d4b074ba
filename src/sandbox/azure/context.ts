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
  /** How injected faults are answered beyond what the common fault settings say. */
  faultShapes: AzureFaultShapes;
  /** The emulator's own URL, known once it listens. */
  url: () => string;
}

/** Azure's own knobs for injected faults. */
export interface AzureFaultShapes {
  /** Retry-After (seconds) on throttled answers instead of the fault injector's; undefined keeps it. */
  retryAfterSeconds: number | undefined;
  /** Entra's answer to an injected server error: 500 AADSTS50000 TokenIssuanceError or 503 AADSTS90033. */
  entraServerErrorStatus: 500 | 503;
}

/** The emulator's clock, shifted by the `clockOffsetMs` fault (a clock running ahead of, or behind, the real one). */
export function emulatorNow(ctx: AzureContext): number {
  return ctx.clock() + ctx.faults.current.clockOffsetMs;
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
