// Entra ID emulation exercised with the real @azure/identity credentials over real TLS.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ClientCertificateCredential, ClientSecretCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAzureEmulator, type AzureEmulator } from "../../../src/sandbox/azure/index.js";
import { decodeJwt, signJwt } from "../../../src/sandbox/azure/jwt.js";
import { certificateThumbprints } from "../../../src/sandbox/common/certificates.js";
import { rawRequest, trustingOptions } from "./https-client.js";

const TENANT = "11111111-1111-1111-1111-111111111111";
const CLIENT = "22222222-2222-2222-2222-222222222222";
const SECRET = "correct-horse-battery-staple";
const ARM_SCOPE = "https://management.azure.com/.default";

describe("Azure emulator: Entra ID", () => {
  let emulator: AzureEmulator;
  let options: Record<string, unknown>;

  beforeAll(async () => {
    emulator = await createAzureEmulator();
    emulator.addPrincipal(TENANT, { clientId: CLIENT, clientSecret: SECRET });
    options = { authorityHost: emulator.authorityHost, disableInstanceDiscovery: true, ...trustingOptions(emulator.caPem) };
  });

  afterAll(async () => {
    await emulator.close();
  });

  it("issues an ARM token for a client secret, signed by the emulator with the principal's claims", async () => {
    const token = await new ClientSecretCredential(TENANT, CLIENT, SECRET, options).getToken(ARM_SCOPE);
    const claims = decodeJwt(token.token)?.claims;
    const principal = emulator.addPrincipal(TENANT, { clientId: CLIENT });
    expect(claims).toMatchObject({ tid: TENANT, appid: CLIENT, azp: CLIENT, oid: principal.objectId, aud: "https://management.azure.com" });
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
    expect(emulator.counters.get("entra:token", "ok")).toBeGreaterThanOrEqual(1);
  });

  it("issues a token for a certificate assertion (PS256, x5t#S256) and for the emulator's own ARM scope", async () => {
    const principal = emulator.generateCertificatePrincipal(TENANT);
    expect(principal.certificatePem).toContain("BEGIN CERTIFICATE");
    expect(principal.certificatePem).toContain("PRIVATE KEY");
    const credential = new ClientCertificateCredential(TENANT, principal.clientId, { certificate: principal.certificatePem }, options);
    const token = await credential.getToken(`${emulator.armEndpoint}/.default`);
    expect(decodeJwt(token.token)?.claims).toMatchObject({ appid: principal.clientId, aud: emulator.armEndpoint });
  });

  it("rejects an assertion signed with a certificate the app does not hold (AADSTS700027)", async () => {
    const registered = emulator.generateCertificatePrincipal(TENANT);
    const other = emulator.generateCertificatePrincipal(TENANT);
    const credential = new ClientCertificateCredential(TENANT, registered.clientId, { certificate: other.certificatePem }, options);
    await expect(credential.getToken(ARM_SCOPE)).rejects.toThrow(/AADSTS700027/);
  });

  it("fails a wrong secret with AADSTS7000215 and never echoes the secret", async () => {
    const error = await new ClientSecretCredential(TENANT, CLIENT, "wrong-secret-value", options).getToken(ARM_SCOPE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    // @azure/identity wraps MSAL's ServerError for client credentials in AuthenticationRequiredError.
    expect((error as Error).name).toBe("AuthenticationRequiredError");
    expect((error as Error).message).toMatch(/invalid_client.*AADSTS7000215/s);
    expect((error as Error).message).not.toContain("wrong-secret-value");
  });

  it("fails a revoked secret with AADSTS7000215", async () => {
    emulator.addPrincipal(TENANT, { clientId: "revoked-app", clientSecret: "old" });
    emulator.revokeSecret(TENANT, "revoked-app", "old");
    await expect(new ClientSecretCredential(TENANT, "revoked-app", "old", options).getToken(ARM_SCOPE)).rejects.toThrow(/AADSTS7000215/);
  });

  it("fails an unknown application with AADSTS700016", async () => {
    await expect(new ClientSecretCredential(TENANT, "33333333-0000-0000-0000-000000000000", SECRET, options).getToken(ARM_SCOPE)).rejects.toThrow(
      /unauthorized_client.*AADSTS700016: Application with identifier '33333333-0000-0000-0000-000000000000' was not found in the directory/s,
    );
  });

  it("answers OpenID discovery for an unknown tenant with 400 invalid_tenant AADSTS90002, which @azure/identity reports as endpoints_resolution_error", async () => {
    const res = await rawRequest(`${emulator.url}/99999999-9999-9999-9999-999999999999/v2.0/.well-known/openid-configuration`, { ca: emulator.caPem });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "invalid_tenant", error_codes: [90002], trace_id: expect.any(String), correlation_id: expect.any(String) });
    expect((res.json as { error_description: string }).error_description).toMatch(/^AADSTS90002: Tenant '99999999-9999-9999-9999-999999999999' not found/);
    const error = await new ClientSecretCredential("99999999-9999-9999-9999-999999999999", CLIENT, SECRET, options).getToken(ARM_SCOPE).catch((e: unknown) => e);
    expect((error as Error).name).toBe("CredentialUnavailableError");
    expect((error as Error).message).toContain("endpoints_resolution_error");
  });

  it.each([
    ["throttled: 429 TenantThrottlingError with Retry-After", { throttleRate: 1 }, {}, 429, "temporarily_unavailable", 90055, "1"],
    ["a server error: 500 TokenIssuanceError", { errorRate: 1 }, {}, 500, "server_error", 50000, undefined],
    ["a server error answered 503", { errorRate: 1 }, { entraServerErrorStatus: 503 as const }, 503, "temporarily_unavailable", 90033, undefined],
  ])("answers an injected fault as Entra does when %s", async (_what, faults, shapes, status, error, code, retryAfter) => {
    emulator.faults.set({ ...faults, operations: ["entra:token"] });
    emulator.setFaultShapes(shapes);
    try {
      const res = await rawRequest(`${emulator.url}/${TENANT}/oauth2/v2.0/token?client-request-id=corr-9`, {
        method: "POST",
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: CLIENT, scope: ARM_SCOPE, client_secret: SECRET }).toString(),
        ca: emulator.caPem,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(res.status).toBe(status);
      expect(res.headers["retry-after"]).toBe(retryAfter);
      expect(res.json).toMatchObject({ error, error_codes: [code], correlation_id: "corr-9", trace_id: expect.any(String) });
      expect((res.json as { error_description: string }).error_description).toMatch(new RegExp(`^AADSTS${code}: `));
    } finally {
      emulator.faults.reset();
      emulator.setFaultShapes({ entraServerErrorStatus: 500 });
    }
  });

  it("refuses a request as Entra does when faults deny it (401 invalid_client, 403 unauthorized_client)", async () => {
    for (const status of [401, 403] as const) {
      emulator.faults.set({ denyRate: 1, denyStatus: status, operations: ["entra:token"] });
      try {
        const res = await rawRequest(`${emulator.url}/${TENANT}/oauth2/v2.0/token`, {
          method: "POST",
          body: new URLSearchParams({ grant_type: "client_credentials", client_id: CLIENT, scope: ARM_SCOPE, client_secret: SECRET }).toString(),
          ca: emulator.caPem,
          headers: { "content-type": "application/x-www-form-urlencoded" },
        });
        expect(res.status).toBe(status);
        expect(res.json).toMatchObject(status === 401 ? { error: "invalid_client", error_codes: [7000215] } : { error: "unauthorized_client", error_codes: [7000112] });
      } finally {
        emulator.faults.reset();
      }
    }
  });

  it("checks assertion times against its offset clock (AADSTS700024) while token lifetimes stay as configured", async () => {
    const principal = emulator.generateCertificatePrincipal(TENANT);
    const credential = () => new ClientCertificateCredential(TENANT, principal.clientId, { certificate: principal.certificatePem }, options);
    emulator.faults.set({ clockOffsetMs: 60 * 60_000 });
    try {
      await expect(credential().getToken(ARM_SCOPE)).rejects.toThrow(/AADSTS700024/);
    } finally {
      emulator.faults.reset();
    }
    emulator.faults.set({ clockOffsetMs: 120_000 });
    try {
      const token = await credential().getToken(ARM_SCOPE);
      const claims = decodeJwt(token.token)?.claims as { iat: number; exp: number };
      expect(claims.exp - claims.iat).toBe(3599);
    } finally {
      emulator.faults.reset();
    }
  });

  it("serves OpenID configuration whose endpoints point back at the emulator", async () => {
    const res = await rawRequest(`${emulator.url}/${TENANT}/v2.0/.well-known/openid-configuration`, { ca: emulator.caPem });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      issuer: `${emulator.url}/${TENANT}/v2.0`,
      token_endpoint: `${emulator.url}/${TENANT}/oauth2/v2.0/token`,
      authorization_endpoint: `${emulator.url}/${TENANT}/oauth2/v2.0/authorize`,
      jwks_uri: `${emulator.url}/${TENANT}/discovery/v2.0/keys`,
    });
    const keys = await rawRequest(`${emulator.url}/${TENANT}/discovery/v2.0/keys`, { ca: emulator.caPem });
    expect(keys.json).toMatchObject({ keys: [{ kty: "RSA", use: "sig" }] });
  });

  it("answers token errors in Entra's shape: status, error, AADSTS description with trace and correlation ids", async () => {
    const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
    const post = (tenant: string, body: string) =>
      rawRequest(`${emulator.url}/${tenant}/oauth2/v2.0/token`, {
        method: "POST",
        body,
        ca: emulator.caPem,
        headers: { "content-type": "application/x-www-form-urlencoded", "client-request-id": "corr-1" },
      });
    const base = { grant_type: "client_credentials", client_id: CLIENT, scope: ARM_SCOPE };

    const badSecret = await post(TENANT, form({ ...base, client_secret: "nope" }));
    expect(badSecret.status).toBe(401);
    expect(badSecret.json).toMatchObject({ error: "invalid_client", error_codes: [7000215], correlation_id: "corr-1" });
    const description = (badSecret.json as { error_description: string }).error_description;
    expect(description).toMatch(/^AADSTS7000215: Invalid client secret provided\. .* Trace ID: \S+ Correlation ID: corr-1 Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);

    const unknownTenant = await post("no-such-tenant", form({ ...base, client_secret: SECRET }));
    expect(unknownTenant.status).toBe(400);
    expect(unknownTenant.json).toMatchObject({ error: "invalid_request", error_codes: [90002] });

    const noCredential = await post(TENANT, form(base));
    expect(noCredential.status).toBe(401);
    expect(noCredential.json).toMatchObject({ error: "invalid_client", error_codes: [7000216] });

    const badAssertion = await post(TENANT, form({ ...base, client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: "a.b.c" }));
    expect(badAssertion.status).toBe(401);
    expect(badAssertion.json).toMatchObject({ error: "invalid_client", error_codes: [700027] });

    const otherResource = await post(TENANT, form({ ...base, scope: "https://vault.azure.net/.default", client_secret: SECRET }));
    expect(otherResource.status).toBe(400);
    expect(otherResource.json).toMatchObject({ error: "invalid_resource", error_codes: [500011] });

    const ok = await post(TENANT, form({ ...base, client_secret: SECRET }));
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: expect.any(String) });
  });

  it("throttles the token endpoint with 429 and Retry-After when faults say so", async () => {
    emulator.faults.set({ throttleRate: 1, operations: ["entra:token"] });
    try {
      const res = await rawRequest(`${emulator.url}/${TENANT}/oauth2/v2.0/token`, {
        method: "POST",
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: CLIENT, scope: ARM_SCOPE, client_secret: SECRET }).toString(),
        ca: emulator.caPem,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(res.status).toBe(429);
      expect(res.headers["retry-after"]).toBe("1");
      expect(res.json).toMatchObject({ error: "temporarily_unavailable" });
    } finally {
      emulator.faults.reset();
    }
  });

  it("speaks real TLS: a client that does not trust the CA fails with a certificate error", async () => {
    const error = await rawRequest(`${emulator.url}/${TENANT}/v2.0/.well-known/openid-configuration`).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
    // @azure/identity cannot even read the OpenID configuration without the CA.
    const untrusting = new ClientSecretCredential(TENANT, CLIENT, SECRET, { authorityHost: emulator.authorityHost, disableInstanceDiscovery: true });
    await expect(untrusting.getToken(ARM_SCOPE)).rejects.toThrow(/endpoints_resolution_error/);
  });

  it("serves the same certificate under localhost, which trusting clients accept", async () => {
    const localhostUrl = emulator.url.replace("127.0.0.1", "localhost");
    const res = await rawRequest(`${localhostUrl}/${TENANT}/v2.0/.well-known/openid-configuration`, { ca: emulator.caPem });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ issuer: `${localhostUrl}/${TENANT}/v2.0` });
  });

  it("accepts an RS256 assertion identified by x5t (SHA-1) and refuses an expired one with AADSTS700024", async () => {
    const principal = emulator.generateCertificatePrincipal(TENANT);
    const key = /-----BEGIN RSA PRIVATE KEY-----[\s\S]+-----END RSA PRIVATE KEY-----/.exec(principal.certificatePem)![0];
    const x5t = certificateThumbprints(principal.certificatePem).sha1.toString("base64url");
    const tokenEndpoint = `${emulator.url}/${TENANT}/oauth2/v2.0/token`;
    const now = Math.floor(Date.now() / 1000);
    const assertion = (exp: number): string =>
      signJwt({ aud: tokenEndpoint, iss: principal.clientId, sub: principal.clientId, nbf: now - 60, exp, jti: "j" }, key, { x5t });
    const post = (exp: number) =>
      rawRequest(tokenEndpoint, {
        method: "POST",
        ca: emulator.caPem,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: principal.clientId,
          scope: ARM_SCOPE,
          client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          client_assertion: assertion(exp),
        }).toString(),
      });
    expect((await post(now + 600)).status).toBe(200);
    const expired = await post(now - 10);
    expect(expired.status).toBe(401);
    expect(expired.json).toMatchObject({ error: "invalid_client", error_codes: [700024] });
  });

  it("writes its CA to a file that a child process trusts through NODE_EXTRA_CA_CERTS", async () => {
    const dir = await mkdtemp(join(tmpdir(), "azure-ca-"));
    try {
      const caFile = join(dir, "ca.pem");
      await emulator.writeCaFile(caFile);
      expect(await readFile(caFile, "utf8")).toBe(emulator.caPem);
      const script = `const r = await fetch(process.argv[1]); process.stdout.write(String(r.status));`;
      const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script, `${emulator.url}/${TENANT}/v2.0/.well-known/openid-configuration`], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
      });
      expect(stdout).toBe("200");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
