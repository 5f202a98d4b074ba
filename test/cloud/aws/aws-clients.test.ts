// AwsClientFactory without a network: one client per service, region, endpoint and credential; bounded, idle clients dropped, offsets carried to new clients.
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { AwsClientFactory, DEFAULT_MAX_CLIENTS, type AwsKeys } from "../../../src/cloud/aws/aws-clients.js";

const keysA: AwsKeys = { accessKeyId: "AKIAAAAAAAAAAAAAAAAA", secretAccessKey: "secret-a-0000000000000000000000000000000" };
const keysB: AwsKeys = { accessKeyId: "AKIABBBBBBBBBBBBBBBB", secretAccessKey: "secret-b-0000000000000000000000000000000" };
const session: AwsKeys = { ...keysA, sessionToken: "session-token-a-000000000000000000000000" };

describe("AwsClientFactory", () => {
  let now = 1_000_000;
  const factories: AwsClientFactory[] = [];
  const make = (extra: { maxClients?: number; maxIdleMs?: number } = {}): AwsClientFactory => {
    const f = new AwsClientFactory({ stsEndpoint: "http://127.0.0.1:1", lambdaEndpoint: "http://127.0.0.1:2", requestTimeoutMs: 1_000, ...extra }, { now: () => now });
    factories.push(f);
    return f;
  };

  afterEach(() => {
    for (const f of factories.splice(0)) f.close();
  });

  it("returns the same client for the same service, region and credentials, and another for any difference", () => {
    const f = make();
    const a = f.sts("eu-west-1", keysA);
    expect(f.sts("eu-west-1", { ...keysA })).toBe(a);
    expect(f.sts("eu-west-1", keysB)).not.toBe(a);
    expect(f.sts("eu-west-1", session)).not.toBe(a);
    expect(f.sts("us-east-1", keysA)).not.toBe(a);
    expect(f.lambda("eu-west-1", keysA)).not.toBe(a);
    expect(f.clientsMade).toBe(5);
  });

  it("keys clients by fingerprint: no secret is reachable from the factory's own state", () => {
    const f = make();
    f.sts("eu-west-1", session);
    f.lambda("eu-west-1", keysB);
    const rendered = inspect(f, { depth: 3 });
    for (const s of [session.secretAccessKey, session.sessionToken ?? "", keysB.secretAccessKey]) expect(rendered).not.toContain(s);
  });

  it("holds at most maxClients, dropping the least recently used", () => {
    const f = make({ maxClients: 2 });
    const a = f.sts("eu-west-1", keysA);
    f.sts("eu-west-1", keysB);
    f.sts("eu-west-1", keysA); // a is now the most recent
    f.sts("eu-west-1", session); // evicts b
    expect(f.size).toBe(2);
    expect(f.sts("eu-west-1", keysA)).toBe(a);
    f.sts("eu-west-1", keysB);
    expect(f.clientsMade).toBe(4);
  });

  it("holds DEFAULT_MAX_CLIENTS by default, not one per credential-region of the fleet", () => {
    const f = make();
    const keys = (i: number): AwsKeys => ({ accessKeyId: `AKIA${String(i).padStart(16, "0")}`, secretAccessKey: `secret-${String(i).padStart(33, "0")}` });
    for (let i = 0; i < DEFAULT_MAX_CLIENTS * 2; i++) f.sts("eu-west-1", keys(i));
    expect(f.size).toBe(DEFAULT_MAX_CLIENTS);
    // The most recent are the ones kept.
    const newest = f.sts("eu-west-1", keys(DEFAULT_MAX_CLIENTS * 2 - 1));
    expect(f.clientsMade).toBe(DEFAULT_MAX_CLIENTS * 2);
    expect(f.sts("eu-west-1", keys(DEFAULT_MAX_CLIENTS * 2 - 1))).toBe(newest);
  });

  it("drops clients idle longer than maxIdleMs", () => {
    const f = make({ maxIdleMs: 10 * 60_000 });
    const a = f.sts("eu-west-1", keysA);
    now += 11 * 60_000;
    f.sts("eu-west-1", keysB);
    expect(f.size).toBe(1);
    expect(f.sts("eu-west-1", keysA)).not.toBe(a);
  });

  it("drops every client of released credentials", () => {
    const f = make();
    const s = f.sts("eu-west-1", session);
    f.lambda("eu-west-1", session);
    const kept = f.sts("eu-west-1", keysA);
    f.release(session);
    expect(f.size).toBe(1);
    expect(f.sts("eu-west-1", keysA)).toBe(kept);
    expect(f.sts("eu-west-1", session)).not.toBe(s);
  });

  it("starts a new client from the offset last measured at its endpoint, or anywhere before that", () => {
    const f = make();
    const first = f.sts("eu-west-1", keysA);
    expect(first.config.systemClockOffset).toBe(0);
    // What the SDK does with an answer's Date.
    first.config.systemClockOffset = 1_200_000;
    expect(f.noteOffset(f.endpointOf("sts", "eu-west-1"), first)).toBe(1_200_000);
    expect(f.sts("eu-west-1", keysB).config.systemClockOffset).toBe(1_200_000);
    expect(f.lambda("eu-west-1", keysB).config.systemClockOffset).toBe(1_200_000);
  });

  it("drops every client on close", () => {
    const f = make();
    f.sts("eu-west-1", keysA);
    f.close();
    expect(f.size).toBe(0);
  });
});
