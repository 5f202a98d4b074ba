import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeClock } from "../../../src/runtime/clock.js";
import { createVaultEmulator, type VaultEmulator } from "../../../src/sandbox/vault/index.js";
import { START_MS } from "./fixtures.js";

// Exact status codes, headers and body bytes, as real Vault 1.21 writes them (Go's json.Encoder:
// a trailing newline). The source each expectation was read in is named in the test. Nearly all of
// these requests were also sent to a running Vault 1.21.0 (dev mode, inmem storage), whose answers
// matched but for request ids, cluster ids and timestamps.

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

describe("Vault emulator: the wire as real Vault writes it", () => {
  const clock = new FakeClock(START_MS);
  let vault: VaultEmulator;
  let reader: string;

  const call = async (method: string, path: string, options: { token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const res = await fetch(`${vault.url}/v1/${path}`, {
      method,
      headers: { ...(options.token === undefined ? {} : { "x-vault-token": options.token }), ...(options.headers ?? {}) },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  const errors = (...messages: string[]): string => `${JSON.stringify({ errors: messages })}\n`;

  beforeAll(async () => {
    vault = await createVaultEmulator({ clock: clock.now });
    vault.writePolicy("reader", `path "secret/data/app/*" { capabilities = ["read"] }`);
    vault.putSecret("secret", "app/db", { password: "p" });
    vault.putSecret("secret", "other/x", { k: "v" });
  });
  afterAll(async () => {
    await vault.close();
  });
  beforeEach(async () => {
    vault.unseal();
    const res = await call("POST", "auth/token/create", { token: vault.rootToken, body: JSON.stringify({ policies: ["reader"], ttl: "10m" }) });
    reader = ((JSON.parse(res.text) as { auth: { client_token: string } }).auth).client_token;
  });

  describe("token and ACL refusals (vault/request_handling.go; go-multierror ListFormatFunc)", () => {
    it("answers a path the token's policies do not grant with the one-error list", async () => {
      // CheckToken: multierror.Append(authResults.Error, logical.ErrPermissionDenied); handleRequest returns ErrorResponse(ctErr.Error()).
      const denied = await call("GET", "secret/data/other/x", { token: reader });
      expect(denied.status).toBe(403);
      expect(denied.text).toBe('{"errors":["1 error occurred:\\n\\t* permission denied\\n\\n"]}\n');
      expect(denied.headers.get("content-type")).toBe("application/json");
      expect(denied.headers.get("cache-control")).toBe("no-store");
      // A path that exists nowhere is judged by the ACL first, as in Vault.
      expect((await call("GET", "nomount/x", { token: reader })).text).toBe(errors("1 error occurred:\n\t* permission denied\n\n"));
    });

    it("answers an unknown, revoked or expired token with the two-error list ending in invalid token", async () => {
      // fetchACLTokenEntryAndEntity: te == nil → multierror.Append(logical.ErrPermissionDenied, logical.ErrInvalidToken).
      const body = '{"errors":["2 errors occurred:\\n\\t* permission denied\\n\\t* invalid token\\n\\n"]}\n';
      for (const [method, path] of [["GET", "secret/data/app/db"], ["GET", "auth/token/lookup-self"], ["POST", "auth/token/renew-self"], ["POST", "auth/token/revoke-self"]] as const) {
        const unknown = await call(method, path, { token: "hvs.unknown" });
        expect([unknown.status, unknown.text]).toEqual([403, body]);
      }
      vault.revokeToken(reader);
      expect(await call("GET", "secret/data/app/db", { token: reader }).then((a) => [a.status, a.text])).toEqual([403, body]);
      const short = await call("POST", "auth/token/create", { token: vault.rootToken, body: JSON.stringify({ policies: ["reader"], ttl: "1m" }) });
      const shortToken = (JSON.parse(short.text) as { auth: { client_token: string } }).auth.client_token;
      clock.advance(61_000);
      expect(await call("GET", "secret/data/app/db", { token: shortToken }).then((a) => [a.status, a.text])).toEqual([403, body]);
    });

    it("answers a request with no token at all with the bare error", async () => {
      // fetchACLTokenEntryAndEntity: req.ClientToken == "" → logical.ErrPermissionDenied, not a list.
      const none = await call("GET", "secret/data/app/db");
      expect([none.status, none.text]).toEqual([403, '{"errors":["permission denied"]}\n']);
    });

    it("answers auth/token/lookup of an unknown token 403 bad token (token_store.go handleLookup)", async () => {
      const res = await call("POST", "auth/token/lookup", { token: vault.rootToken, body: JSON.stringify({ token: "hvs.unknown" }) });
      expect([res.status, res.text]).toEqual([403, errors("bad token")]);
      const revoke = await call("POST", "auth/token/revoke", { token: vault.rootToken, body: "{}" });
      expect([revoke.status, revoke.text]).toEqual([400, errors("missing token ID")]);
    });

    it("answers the UI preflight as pathInternalUIMountRead does", async () => {
      expect(await call("GET", "sys/internal/ui/mounts/secret/data/app/db").then((a) => [a.status, a.text])).toEqual([403, errors("permission denied")]);
      expect(await call("GET", "sys/internal/ui/mounts/secret/data/app/db", { token: "hvs.unknown" }).then((a) => a.text)).toBe(errors("2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"));
      const missing = await call("GET", "sys/internal/ui/mounts/nomount/x", { token: reader });
      expect([missing.status, missing.text]).toEqual([403, errors('preflight capability check returned 403, please ensure client\'s policies grant access to path "nomount/x/"')]);
      expect((await call("GET", "sys/internal/ui/mounts/kv/x", { token: reader })).status).toBe(403);
      const found = await call("GET", "sys/internal/ui/mounts/secret/data/app/db", { token: reader });
      expect(found.status).toBe(200);
      expect((JSON.parse(found.text) as { data: { path: string; options: { version: string } } }).data).toMatchObject({ path: "secret/", options: { version: "2" } });
    });
  });

  describe("KV v2 not found (vault-plugin-secrets-kv; sdk logical.RespondErrorCommon)", () => {
    it("answers a missing secret 404 with an empty errors list", async () => {
      // The backend returns (nil, nil) for a read: RespondErrorCommon picks 404, RespondError writes no message.
      for (const path of ["secret/data/app/missing", "secret/data/app/db?version=9", "secret/metadata/app/missing"]) {
        const res = await call("GET", path, { token: vault.rootToken });
        expect([res.status, res.text]).toEqual([404, '{"errors":[]}\n']);
      }
    });
  });

  describe("KV v2 answers whose status the backend chose (sdk logical.RespondWithStatusCode)", () => {
    it("writes a deleted version's 404 with json.Marshal: no trailing newline, empty mount_type", async () => {
      vault.putSecret("secret", "app/gone", { k: "v" });
      vault.deleteSecret("secret", "app/gone");
      const res = await call("GET", "secret/data/app/gone", { token: vault.rootToken });
      expect(res.status).toBe(404);
      expect(res.text.endsWith("}")).toBe(true);
      expect(JSON.parse(res.text)).toMatchObject({ data: { data: null, metadata: { version: 1, destroyed: false } }, mount_type: "" });
      const bare = await call("GET", "secret/app/gone", { token: vault.rootToken });
      expect([bare.status, bare.text.endsWith("}")]).toEqual([404, true]);
      expect(JSON.parse(bare.text)).toMatchObject({ data: null, mount_type: "", warnings: [expect.stringContaining("Invalid path for a versioned K/V secrets engine.")] });
    });
  });

  it("refuses a policy with an unknown capability in vault/policy.go parsePaths' words", async () => {
    const res = await call("PUT", "sys/policies/acl/bad", { token: vault.rootToken, body: JSON.stringify({ policy: 'path "x" { capabilities = ["fly"] }' }) });
    expect([res.status, res.text]).toEqual([400, errors('failed to parse policy: path "x": invalid capability "fly"')]);
  });

  describe("X-Vault-Namespace on Community Edition (http/handler.go wrapGenericHandler; handler_stubs_oss.go adjustRequest)", () => {
    it("serves the root namespace whatever the header says, and echoes the header", async () => {
      const res = await call("GET", "secret/data/app/db", { token: reader, headers: { "x-vault-namespace": "team-a/" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-vault-namespace")).toBe("team-a/");
      expect((JSON.parse(res.text) as { data: { data: unknown } }).data.data).toEqual({ password: "p" });
      // Refusals carry it too: the header is set before the request is routed.
      const denied = await call("GET", "secret/data/other/x", { token: reader, headers: { "x-vault-namespace": "team-a" } });
      expect([denied.status, denied.headers.get("x-vault-namespace")]).toEqual([403, "team-a"]);
    });
  });

  describe("malformed request bodies (http/util.go wrapJSONLimitsHandler; http/logical.go buildLogicalRequestNoAuth)", () => {
    it("answers a body the JSON limits check refuses 500 with its words, before anything else", async () => {
      // jsonLimitsValidation fails → respondError(w, http.StatusInternalServerError, err).
      const cases: Array<[string, string]> = [
        ['{"data": {"password": "p"', "malformed JSON, unclosed containers"],
        ["{bad json}", "invalid character 'b' looking for beginning of value"],
        ['{"data":{"a":1},}', "invalid character '}' after object key-value pair"],
        ['{"a":1,"a":2}', "duplicate key 'a' in object"],
        ['{"data":{}} trailing', "invalid character 't' after top-level value"],
      ];
      for (const [body, message] of cases) {
        const res = await call("POST", "secret/data/app/db", { token: reader, body });
        expect([res.status, res.text]).toEqual([500, errors(message)]);
      }
      // It runs before the token check, the seal check and routing.
      expect((await call("POST", "secret/data/app/db", { token: "hvs.unknown", body: "{" })).status).toBe(500);
      expect((await call("POST", "sys/unseal", { body: "{" })).text).toBe(errors("malformed JSON, unclosed containers"));
      vault.seal();
      expect(await call("POST", "secret/data/app/db", { token: reader, body: "[" }).then((a) => [a.status, a.text])).toEqual([500, errors("malformed JSON, unclosed containers")]);
    });

    it("answers a body the limits check lets through but Go cannot decode 400, in Go's words", async () => {
      // parseJSONRequest: "failed to parse JSON input: %w"; buildLogicalRequestNoAuth: "error parsing JSON: %w", status 400.
      const cases: Array<[string, string]> = [
        ["not json", "invalid character 'o' in literal null (expecting 'u')"],
        ['{"data" {}}', "invalid character '{' after object key"],
        ['["data"]', "json: cannot unmarshal array into Go value of type map[string]interface {}"],
      ];
      for (const [body, message] of cases) {
        const res = await call("PUT", "secret/data/app/db", { token: vault.rootToken, body });
        expect([res.status, res.text]).toEqual([400, errors(`error parsing JSON: failed to parse JSON input: ${message}`)]);
      }
      // The body is read before the seal is checked.
      vault.seal();
      expect((await call("PUT", "secret/data/app/db", { token: vault.rootToken, body: "not json" })).status).toBe(400);
    });
  });

  describe("sealed (http/sys_health.go getSysHealth; vault/core.go; sdk logical.AdjustErrorStatusCode)", () => {
    it("reports sealed and standby in health with 503, and the seal status with 200", async () => {
      vault.seal();
      const health = await call("GET", "sys/health");
      expect(health.status).toBe(503);
      const body = JSON.parse(health.text) as Record<string, unknown>;
      // A non-HA node sets standby when it seals (core.go sealInternalWithOptions: "Even in a non-HA context we key off of this").
      expect(body).toEqual({
        initialized: true,
        sealed: true,
        standby: true,
        performance_standby: false,
        replication_performance_mode: "unknown",
        replication_dr_mode: "unknown",
        server_time_utc: Math.floor(clock.now() / 1000),
        version: "1.21.0",
        enterprise: false,
        echo_duration_ms: 0,
        clock_skew_ms: 0,
        replication_primary_canary_age_ms: 0,
      });
      expect((await call("HEAD", "sys/health")).status).toBe(503);
      expect((await call("GET", "sys/health?sealedcode=299&standbyok=true")).status).toBe(299);
      expect((await call("GET", "sys/health?sealedcode=abc")).text).toBe('{"errors":[]}\n');
      expect((await call("GET", "sys/health?standbyok=maybe")).status).toBe(400);
      expect((await call("POST", "sys/health")).status).toBe(405);

      const seal = await call("GET", "sys/seal-status");
      expect(seal.status).toBe(200);
      expect(JSON.parse(seal.text)).toEqual({
        type: "shamir",
        initialized: true,
        sealed: true,
        t: 1,
        n: 1,
        progress: 0,
        nonce: "",
        version: "1.21.0",
        build_date: "2025-01-01T00:00:00Z",
        migration: false,
        recovery_seal: false,
        storage_type: "inmem",
      });
    });

    it("reports the active node with its cluster when unsealed", async () => {
      const health = await call("GET", "sys/health");
      expect(health.status).toBe(200);
      expect(JSON.parse(health.text)).toMatchObject({ sealed: false, standby: false, cluster_name: "vault-cluster-sandbox", replication_primary_canary_age_ms: 0 });
      expect(JSON.parse((await call("GET", "sys/seal-status")).text)).toMatchObject({ sealed: false, cluster_name: "vault-cluster-sandbox" });
    });

    it("answers secret paths, token paths and logins 503 Vault is sealed, before looking at the token", async () => {
      // switchedLockHandleRequest: c.Sealed() → consts.ErrSealed; AdjustErrorStatusCode turns it into 503.
      vault.seal();
      const sealed = '{"errors":["Vault is sealed"]}\n';
      for (const [method, path, token] of [
        ["GET", "secret/data/app/db", reader],
        ["GET", "secret/data/app/db", "hvs.unknown"],
        ["GET", "secret/data/app/db", undefined],
        ["GET", "auth/token/lookup-self", reader],
        ["POST", "auth/kubernetes/login", undefined],
        ["GET", "nomount/x", vault.rootToken],
      ] as const) {
        const res = await call(method, path, token === undefined ? {} : { token });
        expect([res.status, res.text]).toEqual([503, sealed]);
      }
    });

    it("unseals through sys/unseal with handleSysUnseal's checks", async () => {
      vault.seal();
      expect(await call("PUT", "sys/unseal", { body: "{}" }).then((a) => [a.status, a.text])).toEqual([400, errors("'key' must be specified in request body as JSON, or 'reset' set to true")]);
      expect((await call("PUT", "sys/unseal", { body: '{"key":"not base64!"}' })).text).toBe(errors("'key' must be a valid hex or base64 string"));
      expect((await call("PUT", "sys/unseal", { body: '{"key":5}' })).text).toBe(errors("failed to parse JSON input: json: cannot unmarshal number into Go struct field UnsealRequest.Key of type string"));
      expect((await call("PUT", "sys/unseal", { body: "not json" })).text).toBe(errors("failed to parse JSON input: invalid character 'o' in literal null (expecting 'u')"));
      expect((await call("GET", "sys/unseal")).status).toBe(405);
      const wrong = await call("PUT", "sys/unseal", { body: JSON.stringify({ key: Buffer.alloc(32, 7).toString("base64") }) });
      expect([wrong.status, wrong.text]).toEqual([
        400,
        errors("unable to retrieve stored keys: invalid key: failed to decrypt keys from storage: error decrypting seal wrapped value\nerror decrypting using seal shamir: cipher: message authentication failed"),
      ]);
      expect((await call("PUT", "sys/unseal", { body: JSON.stringify({ key: Buffer.alloc(8, 7).toString("base64") }) })).text).toBe(errors("invalid key: key is shorter than minimum 16 bytes"));
      const reset = await call("PUT", "sys/unseal", { body: '{"reset":true}' });
      expect([reset.status, (JSON.parse(reset.text) as { sealed: boolean }).sealed]).toEqual([200, true]);
      // Go matches the untagged struct fields case-insensitively.
      const done = await call("PUT", "sys/unseal", { body: JSON.stringify({ Key: vault.unsealKey }) });
      expect([done.status, (JSON.parse(done.text) as { sealed: boolean }).sealed]).toEqual([200, false]);
      expect((await call("PUT", "sys/unseal", { body: '{"reset":true}' })).text).toBe(errors("vault is unsealed"));
    });
  });

  it("refuses methods Vault does not route 405 with no message", async () => {
    const res = await call("PROPFIND", "secret/data/app/db", { token: reader });
    expect([res.status, res.text]).toEqual([405, '{"errors":[]}\n']);
  });
});
