// JWS helpers: RS256 round trip, PS256 verification, tampering and unknown algorithms rejected.
import { constants, createPublicKey, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeJwt, publicJwk, signJwt, verifyJwtSignature } from "../../../src/sandbox/azure/jwt.js";
import { generateRsaKeyPair } from "../../../src/sandbox/common/certificates.js";

describe("Azure emulator JWT helpers", () => {
  const keys = generateRsaKeyPair();
  const publicKey = createPublicKey(keys.publicKeyPem);

  it("signs RS256 tokens that verify with the public key and decode to the claims", () => {
    const token = signJwt({ appid: "a", exp: 10 }, keys.privateKeyPem, { kid: "k1" });
    const jwt = decodeJwt(token);
    expect(jwt?.header).toMatchObject({ alg: "RS256", kid: "k1", typ: "JWT" });
    expect(jwt?.claims).toEqual({ appid: "a", exp: 10 });
    expect(verifyJwtSignature(jwt!, publicKey)).toBe(true);
  });

  it("rejects a token whose payload was changed after signing", () => {
    const [h, , s] = signJwt({ appid: "a" }, keys.privateKeyPem).split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ appid: "b" })).toString("base64url")}.${s}`;
    expect(verifyJwtSignature(decodeJwt(forged)!, publicKey)).toBe(false);
  });

  it("verifies PS256 (as MSAL signs with a SHA-256 thumbprint) and refuses alg none", () => {
    const input = `${Buffer.from(JSON.stringify({ alg: "PS256" })).toString("base64url")}.${Buffer.from("{}").toString("base64url")}`;
    const sig = sign("sha256", Buffer.from(input), { key: keys.privateKeyPem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
    expect(verifyJwtSignature(decodeJwt(`${input}.${sig.toString("base64url")}`)!, publicKey)).toBe(true);
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${Buffer.from("{}").toString("base64url")}.`;
    expect(verifyJwtSignature(decodeJwt(none)!, publicKey)).toBe(false);
  });

  it("does not decode what is not a compact JWS", () => {
    expect(decodeJwt("a.b")).toBeUndefined();
    expect(decodeJwt("not.json.here")).toBeUndefined();
  });

  it("publishes the key as an RSA JWK", () => {
    expect(publicJwk(keys.publicKeyPem, "k1")).toMatchObject({ kty: "RSA", kid: "k1", e: "AQAB", n: expect.any(String) });
  });
});
