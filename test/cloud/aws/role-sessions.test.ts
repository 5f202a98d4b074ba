// RoleSessions: a session AWS refused is dropped with its clients, unless a fresh one already replaced it.
import { describe, expect, it } from "vitest";
import type { AwsKeys } from "../../../src/cloud/aws/aws-clients.js";
import { RoleSessions } from "../../../src/cloud/aws/role-sessions.js";

const HOUR_MS = 3_600_000;
const keysOf = (id: string): AwsKeys => ({ accessKeyId: id, secretAccessKey: `secret-${id}`, sessionToken: `token-${id}` });

describe("RoleSessions.forget", () => {
  it("drops the refused session, so the next lookup finds none, and releases its clients", () => {
    const dropped: string[] = [];
    const sessions = new RoleSessions((k) => dropped.push(k.accessKeyId));
    sessions.store("k", keysOf("ASIAOLD"), HOUR_MS, 0);
    expect(sessions.fresh("k", 0)?.accessKeyId).toBe("ASIAOLD");
    sessions.forget("k", keysOf("ASIAOLD"));
    expect(sessions.fresh("k", 0)).toBeUndefined();
    expect(sessions.size).toBe(0);
    expect(dropped).toEqual(["ASIAOLD"]);
  });

  it("keeps a fresh session that replaced the refused one, but still releases the refused one's clients", () => {
    const dropped: string[] = [];
    const sessions = new RoleSessions((k) => dropped.push(k.accessKeyId));
    sessions.store("k", keysOf("ASIAOLD"), HOUR_MS, 0);
    sessions.store("k", keysOf("ASIANEW"), HOUR_MS, 0);
    sessions.forget("k", keysOf("ASIAOLD"));
    expect(sessions.fresh("k", 0)?.accessKeyId).toBe("ASIANEW");
    expect(dropped).toContain("ASIAOLD");
    expect(dropped).not.toContain("ASIANEW");
  });
});
