// createAnonymousAuth: the loopback-only second line of defence of auth none.
import { describe, expect, it } from "vitest";
import { createAnonymousAuth } from "../../../src/http/auth/anonymous-auth.js";

describe("createAnonymousAuth", () => {
  const auth = createAnonymousAuth();

  it.each(["127.0.0.1", "127.255.3.4", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::ffff:7f00:1"])("accepts the loopback peer %s without a token", async (peer) => {
    expect(await auth.authenticate(undefined, peer)).toEqual({ ok: true, caller: { id: `anonymous:${peer}`, display: "anonymous" } });
  });

  it.each(["10.0.0.1", "192.168.1.5", "::2", "fe80::1", "::ffff:10.0.0.1", "128.0.0.1", "", "localhost", "garbage"])("refuses the peer %j when it is not a loopback address", async (peer) => {
    const answer = await auth.authenticate("some-token", peer);
    expect(answer).toEqual({ ok: false, message: "anonymous access is only allowed from a loopback address" });
  });

  it("ignores a bearer token sent from loopback and never echoes it", async () => {
    const answer = await auth.authenticate("s3cret-token-value", "127.0.0.1");
    expect(answer.ok).toBe(true);
    expect(JSON.stringify(answer)).not.toContain("s3cret-token-value");
  });

  it("allows every access once authenticated, cluster-wide included", async () => {
    const caller = { id: "anonymous:127.0.0.1", display: "anonymous" };
    for (const verb of ["update", "get", "list"] as const) {
      expect(await auth.authorize(caller, { verb })).toEqual({ allowed: true });
      expect(await auth.authorize(caller, { verb, namespace: "team-a" })).toEqual({ allowed: true });
    }
  });
});
