// Shared test helpers for the Vault emulator: the fake clock's start, a fake TokenReview and node-vault clients.
import nodeVault from "node-vault";
import { expect } from "vitest";
import type { TokenReviewer, VaultEmulator } from "../../../src/sandbox/vault/index.js";

/** Where the fake clock (src/model/clock.ts) starts in these tests, so TTLs expire without sleeping. */
export const START_MS = Date.parse("2025-01-01T00:00:00Z");

/** Real Vault's body text for a live token its policies do not allow (vault/request_handling.go CheckToken). */
export const ACL_DENIED = "1 error occurred:\n\t* permission denied\n\n";
/** Real Vault's body text for an unknown, expired or revoked token (fetchACLTokenEntryAndEntity). */
export const INVALID_TOKEN = "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n";

/** A TokenReview that knows a fixed set of JWTs, each standing for `namespace:name`; any other JWT is unauthenticated. */
export function fakeReviewer(accounts: Record<string, string>): TokenReviewer {
  return (jwt) => {
    const who = accounts[jwt];
    return Promise.resolve(who === undefined ? { authenticated: false } : { authenticated: true, username: `system:serviceaccount:${who}`, uid: `uid-${who}` });
  };
}

export function vaultClient(emulator: VaultEmulator, token?: string): nodeVault.client {
  return nodeVault({ endpoint: emulator.url, ...(token === undefined ? {} : { token }) });
}

/** Awaits a node-vault call expected to fail with `status` (and, when given, exactly `errors`); returns the body. */
export async function expectVaultError(call: Promise<unknown>, status: number, errors?: string[]): Promise<Record<string, unknown>> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "call should have failed").toBeInstanceOf(Error);
  const response = (err as { response?: { statusCode: number; body: Record<string, unknown> } }).response;
  expect(response?.statusCode).toBe(status);
  if (errors !== undefined) expect(response?.body["errors"]).toEqual(errors);
  return response?.body ?? {};
}
