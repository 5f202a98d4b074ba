// The Azure emulator: Entra ID and ARM over HTTPS with a generated CA, plus in-process controls and seeding.
import { createHash, createPublicKey, randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { CallCounters } from "../common/counters.js";
import { FaultInjector } from "../common/faults.js";
import { handleAdmin, listen, type SandboxServer } from "../common/http-server.js";
import { ARM_OPERATIONS, handleArm } from "./arm.js";
import type { AzureContext, AzureFaultShapes, TokenSigningKey } from "./context.js";
import { Directory, type PrincipalSpec } from "./directory.js";
import { ENTRA_OPERATIONS, handleEntra } from "./entra.js";
import { FunctionAppStore, type FunctionAppSpec, type FunctionSpec } from "./function-apps.js";
import { applyAzureSeed, type AzureSeed } from "./seed.js";
import { createCertificateAuthority, createClientCertificate, issueServerCertificate } from "../common/certificates.js";

export type { AuthLevel, FunctionAppSpec, FunctionSpec } from "./function-apps.js";
export type { PrincipalSpec } from "./directory.js";
export type { AzureFaultShapes } from "./context.js";
export type { AzureSeed } from "./seed.js";

export interface AzureEmulatorOptions {
  /** Listening address; default 127.0.0.1. The certificate also covers localhost and ::1. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Milliseconds since the epoch, for token lifetimes; default Date.now. */
  clock?: () => number;
  /** Source of randomness for fault decisions; inject to make throttling deterministic. */
  random?: () => number;
  /** Items per ARM list page (sites, functions); default 20. */
  pageSize?: number;
  /** Lifetime of issued access tokens, in seconds; default 3599 like Entra ID. */
  tokenLifetimeSeconds?: number;
}

export interface AzureEmulator extends SandboxServer {
  /** The generated CA certificate (PEM) that signed the server certificate; trust it to connect. */
  readonly caPem: string;
  /** Writes `caPem` to `path` (for NODE_EXTRA_CA_CERTS or an "extra CA files" setting). */
  writeCaFile(path: string): Promise<void>;
  /** Entra ID authority host, i.e. the emulator's https URL. */
  readonly authorityHost: string;
  /** ARM endpoint (same URL; ARM routes live under `/subscriptions/...`). */
  readonly armEndpoint: string;
  /** Adds a tenant; idempotent. */
  addTenant(tenantId: string): void;
  /** Registers a principal (creating the tenant); repeated calls add secrets/certificates. Returns its object id. */
  addPrincipal(tenantId: string, principal: PrincipalSpec): { clientId: string; objectId: string };
  /** Registers a principal with a fresh certificate; `certificatePem` holds cert + private key for ClientCertificateCredential. */
  generateCertificatePrincipal(tenantId: string): { clientId: string; objectId: string; certificatePem: string };
  /** Adds or replaces a function app with its functions and role assignments. */
  addFunctionApp(subscriptionId: string, resourceGroup: string, name: string, spec: FunctionAppSpec): void;
  /** Adds or replaces functions of an existing app in one pass; throws when the app is missing. */
  addFunctions(subscriptionId: string, resourceGroup: string, appName: string, functions: readonly FunctionSpec[]): void;
  /** Sets a function's `default` key; throws when the app or function is missing. */
  setFunctionKey(subscriptionId: string, resourceGroup: string, appName: string, functionName: string, key: string): void;
  /** Adds an empty resource group (a group ARM knows, with no app in it); idempotent. */
  addResourceGroup(subscriptionId: string, resourceGroup: string): void;
  /** Starts or stops an app; throws when it is missing. */
  setFunctionAppState(subscriptionId: string, resourceGroup: string, appName: string, state: "Running" | "Stopped"): void;
  /** Sets how injected faults are answered (Retry-After, Entra's 500 or 503); unnamed fields keep their values. `faults.reset()` does not touch these. */
  setFaultShapes(shapes: Partial<AzureFaultShapes>): AzureFaultShapes;
  /** Removes a function; idempotent. */
  removeFunction(subscriptionId: string, resourceGroup: string, appName: string, functionName: string): void;
  /** Revokes one client secret, or every secret and certificate of the principal when none is named. */
  revokeSecret(tenantId: string, clientId: string, clientSecret?: string): void;
  /** Loads a seed (see seed.ts for the format). */
  applySeed(seed: AzureSeed): void;
}

/**
 * Starts the emulator: generates a CA, a server certificate for localhost/127.0.0.1/::1 (and
 * `host`), a token-signing key, then listens over HTTPS. Every request other than the sandbox
 * admin routes is faulted and counted by operation (`entra:token`, `arm:sites.get`, ...).
 */
export async function createAzureEmulator(options: AzureEmulatorOptions = {}): Promise<AzureEmulator> {
  const clock = options.clock ?? Date.now;
  const host = options.host ?? "127.0.0.1";
  const ca = createCertificateAuthority(undefined, clock());
  const server = issueServerCertificate(ca, ["localhost", "127.0.0.1", "::1", host], clock());
  const signing = createClientCertificate("credbroker sandbox token signing", clock());
  const signingKey: TokenSigningKey = {
    kid: createHash("sha1").update(signing.publicKeyPem).digest("base64url"),
    privateKeyPem: signing.privateKeyPem,
    publicKeyPem: signing.publicKeyPem,
    publicKey: createPublicKey(signing.publicKeyPem),
    certificatePem: signing.certificatePem,
  };
  const directory = new Directory();
  const apps = new FunctionAppStore();
  const faults = new FaultInjector(options.random, [...ARM_OPERATIONS, ...ENTRA_OPERATIONS]);
  const counters = new CallCounters();
  let url = "";
  const ctx: AzureContext = {
    directory,
    apps,
    signingKey,
    faults,
    counters,
    clock,
    pageSize: options.pageSize ?? 20,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3599,
    faultShapes: { retryAfterSeconds: undefined, entraServerErrorStatus: 500 },
    url: () => url,
  };

  const handler = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    if (handleAdmin(req, res, body, faults, counters)) return;
    if (await handleEntra(req, res, body, ctx)) return;
    await handleArm(req, res, ctx);
  };
  const running = await listen(handler, {
    host,
    ...(options.port === undefined ? {} : { port: options.port }),
    tls: { key: server.privateKeyPem, cert: server.certificatePem },
  });
  url = running.url;

  const emulator: AzureEmulator = {
    ...running,
    faults,
    counters,
    caPem: ca.certificatePem,
    writeCaFile: (path) => writeFile(path, ca.certificatePem, { mode: 0o644 }),
    authorityHost: running.url,
    armEndpoint: running.url,
    addTenant: (tenantId) => directory.addTenant(tenantId),
    addPrincipal: (tenantId, spec) => {
      const p = directory.addPrincipal(tenantId, spec);
      return { clientId: p.clientId, objectId: p.objectId };
    },
    generateCertificatePrincipal: (tenantId) => {
      const clientId = randomUUID();
      const cert = createClientCertificate(`credbroker-sandbox-${clientId}`, clock());
      const p = directory.addPrincipal(tenantId, { clientId, certificatePem: cert.certificatePem });
      return { clientId, objectId: p.objectId, certificatePem: `${cert.certificatePem}${cert.privateKeyPem}` };
    },
    addFunctionApp: (sub, rg, name, spec) => {
      apps.addFunctionApp(sub, rg, name, spec);
    },
    addFunctions: (sub, rg, app, functions) => apps.addFunctions(sub, rg, app, functions),
    setFunctionKey: (sub, rg, app, fn, key) => apps.setFunctionKey(sub, rg, app, fn, key),
    removeFunction: (sub, rg, app, fn) => apps.removeFunction(sub, rg, app, fn),
    addResourceGroup: (sub, rg) => apps.addResourceGroup(sub, rg),
    setFunctionAppState: (sub, rg, app, state) => apps.setState(sub, rg, app, state),
    setFaultShapes: (shapes) => {
      Object.assign(ctx.faultShapes, shapes);
      return { ...ctx.faultShapes };
    },
    revokeSecret: (tenantId, clientId, secret) => directory.revokeSecret(tenantId, clientId, secret),
    applySeed: (seed) => applyAzureSeed(emulator, seed),
  };
  return emulator;
}
